import zlib

from monclub.cluster.partition import partition_of


def test_partition_is_crc32_mod_n_and_stable():
    assert partition_of("polar", 4) == zlib.crc32(b"polar") % 4
    assert partition_of("soirée", 4) == zlib.crc32("soirée".encode()) % 4
    assert {partition_of(f"s{i}", 4) for i in range(100)} == {0, 1, 2, 3}
