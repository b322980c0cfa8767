from monclub.curve import verdict
from monclub.db.secrets import redact

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
