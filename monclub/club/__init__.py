"""What a person does with the club, whatever the tool (the CLI, the web program's pages): its ops,
their words, its dates."""
