"""Benchmark data written straight into PostgreSQL, fast: séances by COPY, members by one INSERT.

Séances are written before any shard touches them: a shard loads a séance lazily, from the
database, on its first message, so this is the same as séances created earlier through the shards.
A séance's partition is crc32(id) mod P, hosted by shard process partition mod N
(monclub/cluster/partition.py), so `owned_ids` picks ids.
"""

import itertools

from monclub.cluster.partition import home_shard
from monclub.db import connect


def owned_ids(
    prefix: str, count: int, shard: int | None = None, shards: int = 1, start: int = 0, partitions: int = 1
) -> list[str]:
    """`count` ids `<prefix>-<n>` (n from `start`), only those hosted by shard process `shard` of
    `shards` when it is given."""
    names = (f"{prefix}-{n}" for n in itertools.count(start))
    if shard is not None:
        names = (name for name in names if home_shard(name, partitions, shards) == shard)
    return list(itertools.islice(names, count))


def insert_seances(conninfo: str, ids: list[str], places: int) -> None:
    """Idle séances (no registration, free, no waiting list), by COPY."""
    with connect(conninfo, autocommit=True) as conn, conn.cursor() as cursor:
        with conn.transaction(), cursor.copy("COPY seances (id, titre, places, attente_max, tarif) FROM STDIN") as copy:
            for seance in ids:
                copy.write_row((seance, "benchmark", places, 0, 0))


def checkpoint(conninfo: str) -> None:
    """Flush dirty pages now, so that a checkpoint does not land inside the next timed phase."""
    with connect(conninfo, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
