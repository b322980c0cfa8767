import re

from zmq.utils import z85

from monclub.db.secrets import redact
from monclub.wire import keys
from monclub.wire.curve import verdict

KEY = bytes(range(32))


def zap(mechanism: bytes = b"CURVE", key: bytes = KEY) -> list[bytes]:
    return [b"1.0", b"7", b"monclub", b"10.0.0.5", b"", mechanism, key]


def test_an_allowlisted_curve_key_gets_in():
    reply, allowed = verdict(zap(), {KEY})
    assert allowed and reply[:3] == [b"1.0", b"7", b"200"]


def test_any_other_key_mechanism_or_malformed_request_is_refused():
    for frames in (zap(key=bytes(32)), zap(mechanism=b"PLAIN"), [b"1.0", b"7"], [], [b"2.0", *zap()[1:]]):
        reply, allowed = verdict(frames, {KEY})
        assert not allowed and reply[2] == b"400"


def test_passwords_are_masked_in_every_spelling():
    cases = {
        "postgresql://gardien:s3cr%40t@db.example/monclub": "s3cr@t",
        "host=db password='s3cr3t x' user=gardien": "s3cr3t x",
        "postgresql:///monclub?password=s3cr3t&host=/run": "s3cr3t",
    }
    for conninfo, password in cases.items():
        text = f"error in {conninfo!r}, password {password}"
        assert password not in redact(text, conninfo) and "***" in redact(text, conninfo)
    assert redact("nothing to hide", "postgresql://gardien@db/monclub") == "nothing to hide"


def test_the_key_files_are_the_certificate_format_the_protocol_documents(tmp_path):
    """docs/protocol.md §1: a `public-key = "<Z85>"` line (and `secret-key` in a secret file),
    40 characters that decode to 32 bytes, readable without MonClub's Python."""
    keys.init(tmp_path)
    public = keys.server_public(tmp_path).read_text()
    secret = keys.client_secret(tmp_path).read_text()
    found = re.search(r'^\s+public-key = "(.{40})"$', public, re.M)
    assert found and len(z85.decode(found.group(1))) == 32
    assert re.search(r'^\s+secret-key = "(.{40})"$', secret, re.M)
    assert all(line.startswith("#") or not line.strip() for line in public.split("metadata")[0].splitlines())
