import zlib

from monclub.partition import shard_of


def test_partition_is_crc32_mod_n_and_stable():
    assert shard_of("polar", 4) == zlib.crc32(b"polar") % 4
    assert shard_of("soirée", 4) == zlib.crc32("soirée".encode()) % 4
    assert {shard_of(f"s{i}", 4) for i in range(100)} == {0, 1, 2, 3}
