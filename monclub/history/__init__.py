"""Every aggregate's history, read from the archive: replayed through the pure cores (`replay`)
and told in words (`text`). Above the branches, whose cores it replays, below the programs that show
it (the CLI, the web program) and the audit that compares it with the stored state."""
