"""The contract every surface shares, pure (no socket, no encoding): the envelope of a request
and of a reply, the checks of each field, and each branch's op table."""
