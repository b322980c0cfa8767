"""The embedded PostgreSQL cluster: a program of the supervisord tree when no database is configured."""
