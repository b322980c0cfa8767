"""The partition function: which partition an aggregate belongs to, and which shard process of a
node hosts a partition.

partition = crc32(utf-8 bytes of the id) mod P. CRC-32 (IEEE, as zlib computes it) exists in every
language, so any client can find a partition without MonClub's code. P is fixed when the database
is created; changing it needs repartitioning, which does not exist yet. On a node running S shard
processes of a branch, process i hosts the partitions p with p mod S = i (a client's first guess;
the directory, docs/protocol.md, is the authority).
"""

import zlib


def partition_of(aggregate_id: str, partitions: int) -> int:
    """The partition of `aggregate_id` among `partitions`."""
    return zlib.crc32(aggregate_id.encode("utf-8")) % partitions


def host_of(partition: int, shards: int) -> int:
    """The shard process of a node that hosts `partition`."""
    return partition % shards


def home_shard(aggregate_id: str, partitions: int, shards: int) -> int:
    """The shard process of a node that hosts `aggregate_id`'s partition."""
    return host_of(partition_of(aggregate_id, partitions), shards)


def hosted(partitions: int, shards: int, index: int) -> list[int]:
    """The partitions that shard process `index` of a node hosts."""
    return [partition for partition in range(partitions) if host_of(partition, shards) == index]
