"""What crosses a socket: the one codec (msgpack with hard limits), the envelope and field checks
of every request, and who may send one (CurveZMQ and its key store)."""
