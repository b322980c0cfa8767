"""The generic shard host: the owner of a partition's aggregates (`owner`), its group commit
(`batch`), its persistence (`store`), its ROUTER loop (`server`), and the branch supervisor
program that forks one shard process per partition (`branch`). What differs between séances and
prêts lives in `monclub.reunions` and `monclub.prets`."""
