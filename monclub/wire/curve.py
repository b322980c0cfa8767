"""CurveZMQ on the shards' tcp endpoints: encryption, and only the allowlisted clients get in.

A shard whose endpoint is tcp with CURVE on (a host beyond loopback, or `[access] curve = true`)
is a CURVE server, and a ZAP handler in a thread of the shard process answers each handshake:
the client's public key must be in the allowlist (monclub.wire.keys). A refused client gets no reply
at all (its requests time out) and the shard logs the refusal. ipc endpoints need none of this:
they live in the 0700 run directory.
"""

import logging
import threading
import time
from pathlib import Path

import zmq
from zmq.utils import z85

from monclub.config import Config
from monclub.errors import ConfigError
from monclub.wire import keys

log = logging.getLogger(__name__)
ZAP_ENDPOINT = "inproc://zeromq.zap.01"
DOMAIN = b"monclub"
LOG_EVERY = 60.0
_REMEMBERED_KEYS = 1000


def enabled(config: Config) -> bool:
    return bool(config.tcp) and config.curve


def check_server(config: Config) -> None:
    """Refuse to start shards that need CURVE without a server key, saying what to run."""
    secret = keys.server_secret(config.home)
    if enabled(config) and not secret.exists():
        why = "binds beyond loopback" if not config.loopback else "with [access] curve = true"
        raise ConfigError(
            f"reunions.tcp = {config.tcp!r} {why}, which needs CurveZMQ keys, and {secret} does not exist: "
            "run `monclub keys init`, then `monclub keys client NAME` for each client machine"
        )


def secure_server(socket: zmq.Socket, config: Config) -> None:
    """Make `socket` (before its bind) a CURVE server that lets in only the allowlist."""
    if not enabled(config):
        return
    check_server(config)
    public, secret = keys.load_pair(keys.server_secret(config.home))
    _Gatekeeper(socket.context, config.home).start()
    socket.zap_domain = DOMAIN
    socket.curve_server = True
    socket.curve_publickey = public
    socket.curve_secretkey = secret


def secure_client(socket: zmq.Socket, config: Config) -> None:
    """Give `socket` (before its connect) the client keypair and the server key it must find."""
    if not enabled(config):
        return
    public, secret = keys.load_pair(_client_key(config))
    if secret is None:
        raise ConfigError(f"{config.client_key} holds no secret key: client_key names the .key_secret file")
    socket.curve_serverkey = keys.public_key(_existing(config.server_key, "server"))
    socket.curve_publickey = public
    socket.curve_secretkey = secret


def _client_key(config: Config) -> Path:
    """The client's secret key file; this machine's own (`local`) missing while the server key is
    there means it was revoked, and `keys client local` makes a new one (`keys init` keeps the keys)."""
    path = config.client_key
    if path == keys.client_secret(config.home) and not path.exists() and keys.server_secret(config.home).exists():
        raise ConfigError(
            f"CURVE is on and this machine's client key {path} does not exist (revoked?): "
            f"run `monclub keys client {keys.LOCAL}` to make and allow a new one"
        )
    return _existing(path, "client")


def _existing(path: Path | None, which: str) -> Path:
    if path is None or not path.exists():
        raise ConfigError(
            f"CURVE is on and the {which} key {path or '(none set)'} does not exist: "
            "on the server run `monclub keys init` "
            f"(and `monclub keys client NAME` for another machine), or set [access] {which}_key"
        )
    return path


def verdict(frames: list[bytes], allowed: set[bytes]) -> tuple[list[bytes], bool]:
    """The ZAP reply (RFC 27) to one request, and whether the client was let in."""
    request_id = frames[1] if len(frames) > 1 else b""
    mechanism, credentials = (frames[5], frames[6:]) if len(frames) > 6 else (b"", [])
    allow = frames[:1] == [b"1.0"] and mechanism == b"CURVE" and credentials[0] in allowed
    user = z85.encode(credentials[0]) if allow else b""
    status = (b"200", b"OK") if allow else (b"400", b"client key not allowed")
    return [b"1.0", request_id, *status, user, b""], allow


class _Gatekeeper(threading.Thread):
    """The ZAP handler of one shard process; it ends when the shard terminates its context."""

    def __init__(self, context: zmq.Context, home: Path):
        super().__init__(daemon=True, name="zap")
        self.home = home
        self.logged: dict[bytes, float] = {}
        self.socket = context.socket(zmq.REP)
        self.socket.linger = 0
        self.socket.bind(ZAP_ENDPOINT)

    def run(self) -> None:
        try:
            while True:
                self.socket.send_multipart(self._answer(self.socket.recv_multipart()))
        except zmq.ContextTerminated:
            pass
        finally:
            self.socket.close(linger=0)

    def _answer(self, frames: list[bytes]) -> list[bytes]:
        try:
            allowed = keys.allowed_keys(self.home)
        except ConfigError as error:
            log.error("refusing every client: the allowlist cannot be read (%s)", error)
            allowed = set()
        reply, allow = verdict(frames, allowed)
        if not allow:
            self._log_refusal(frames)
        return reply

    def _log_refusal(self, frames: list[bytes]) -> None:
        """Once a minute per key at most: a refused client keeps reconnecting."""
        key = frames[6] if len(frames) > 6 and len(frames[6]) == 32 else b""
        if time.monotonic() - self.logged.get(key, -LOG_EVERY) < LOG_EVERY:
            return
        if len(self.logged) >= _REMEMBERED_KEYS:
            self.logged.clear()
        self.logged[key] = time.monotonic()
        address = frames[3].decode(errors="replace") if len(frames) > 3 else "?"
        log.warning(
            "refused a client from %s: its CURVE key %s is not in the allowlist of %s (logged once a minute per key)",
            address,
            z85.encode(key).decode() if key else "none",
            keys.directory(self.home),
        )
