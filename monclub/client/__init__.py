"""MonClub's client: where a request goes, whether anything can answer it, and the Lazy Pirate
attempts, over blocking sockets (sync) or asyncio (aio)."""
