"""Domain events: the outbox, the bus, the relay, and the listeners."""
