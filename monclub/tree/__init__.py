"""The supervision tree seen from outside: supervisord started, stopped and read; the shards
replaced one at a time (reload); what `monclub status` shows of each part."""
