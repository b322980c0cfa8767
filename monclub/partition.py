"""The partition function: which shard owns an aggregate.

shard = crc32(utf-8 bytes of the id) mod N. CRC-32 (IEEE, as zlib computes it) exists in every
language, so any client can find a shard without MonClub's code. N is fixed when the database is
created; changing it needs resharding, which does not exist yet.
"""

import zlib


def shard_of(aggregate_id: str, shards: int) -> int:
    return zlib.crc32(aggregate_id.encode("utf-8")) % shards
