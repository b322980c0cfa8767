"""The CurveZMQ key store of a state directory, managed by `monclub keys`.

    keys/                      0700
      server.key               the shards' public key: every client needs a copy
      server.key_secret        its secret key (0600): never leaves this machine
      allowed/NAME.key         the allowlist: public keys of the clients a shard lets in
      clients/NAME.key         a client keypair made here; `local` is this machine's own
      clients/NAME.key_secret  (0600) copy both to that client, then delete them here

Files are pyzmq's certificate format (zmq.auth). The allowlist is read again at every CURVE
handshake, so `client` and `revoke` take effect on the next connection, without a restart.
"""

import re
from pathlib import Path

import zmq
import zmq.auth
from zmq.utils import z85

from monclub.errors import ConfigError, InvalidRequest

LOCAL = "local"
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def directory(home: Path) -> Path:
    return home / "keys"


def server_public(home: Path) -> Path:
    return directory(home) / "server.key"


def server_secret(home: Path) -> Path:
    return directory(home) / "server.key_secret"


def client_secret(home: Path, name: str = LOCAL) -> Path:
    return directory(home) / "clients" / f"{name}.key_secret"


def _allowed(home: Path, name: str) -> Path:
    return directory(home) / "allowed" / f"{name}.key"


def _private_dirs(home: Path) -> None:
    for path in (directory(home), directory(home) / "allowed", directory(home) / "clients"):
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o700)


def _keypair(where: Path, name: str) -> None:
    public, secret = zmq.auth.create_certificates(where, name)
    Path(secret).chmod(0o600)
    Path(public).chmod(0o644)


def init(home: Path) -> bool:
    """Create the server keypair and the `local` client (allowed) unless they exist; True if made."""
    _private_dirs(home)
    if server_secret(home).exists():
        return False
    _keypair(directory(home), "server")
    if not client_secret(home, LOCAL).exists():
        add_client(home, LOCAL)
    return True


def add_client(home: Path, name: str) -> Path:
    """A new client keypair whose public key joins the allowlist; the path of its secret file."""
    if not _NAME.fullmatch(name):
        raise InvalidRequest(f"client name {name!r}: 1 to 64 characters of A-Z a-z 0-9 _ . -")
    if not server_secret(home).exists():
        raise ConfigError(f"no server key in {directory(home)}: run `monclub keys init` first")
    if _allowed(home, name).exists() or client_secret(home, name).with_suffix(".key").exists():
        raise InvalidRequest(f"a client key named {name!r} exists already; `monclub keys revoke {name}` first")
    _private_dirs(home)
    _keypair(directory(home) / "clients", name)
    public = client_secret(home, name).with_suffix(".key")
    _allowed(home, name).write_bytes(public.read_bytes())
    return client_secret(home, name)


def revoke(home: Path, name: str) -> bool:
    """Remove a client from the allowlist (and its keypair if made here); False if it was not there."""
    found = False
    for path in (_allowed(home, name), client_secret(home, name), client_secret(home, name).with_suffix(".key")):
        if _NAME.fullmatch(name) and path.exists():
            path.unlink()
            found = True
    return found


def listing(home: Path) -> dict:
    """The server's public key (None before `init`) and the allowed clients with theirs."""
    server = public_key(server_public(home)).decode() if server_public(home).exists() else None
    allowed = sorted((directory(home) / "allowed").glob("*.key"))
    return {"server": server, "allowed": [{"name": path.stem, "public": public_key(path).decode()} for path in allowed]}


def allowed_keys(home: Path) -> set[bytes]:
    """The allowlist as raw 32-byte keys, as a ZAP request carries them."""
    return {z85.decode(public_key(path)) for path in (directory(home) / "allowed").glob("*.key")}


def public_key(path: Path) -> bytes:
    return load_pair(path)[0]


def load_pair(path: Path) -> tuple[bytes, bytes | None]:
    """(public, secret) of a certificate file, as z85; secret is None in a public file."""
    try:
        return zmq.auth.load_certificate(path)
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read the CurveZMQ key {path}: {error}") from None
