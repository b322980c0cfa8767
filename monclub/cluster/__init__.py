"""Cluster mode: several nodes on one PostgreSQL, which alone decides who owns each partition (the
partition function, ownership and its fence, membership, the directory of owners, the nodes'
heartbeats, drain, and the view `monclub status --cluster` prints)."""
