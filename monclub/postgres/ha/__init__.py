"""A highly available PostgreSQL that MonClub follows, run by existing engines: Patroni elects
the primary through etcd and keeps a synchronous standby (docs/database.md). `layout` is the
three-server demo on paper, `processes` runs it, `python -m monclub.postgres.ha` (scripts/ha-demo)
is its command."""
