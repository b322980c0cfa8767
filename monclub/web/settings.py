"""The [web] section: where the web program listens, whether its kill buttons act, its token.

A bind beyond loopback, or kill buttons, need a token: without one the program refuses to start
(a configuration error, exit 78), since anybody who reaches the port could otherwise act. The
token is `[web] token`, MONCLUB_WEB_TOKEN, or the one `monclub keys web-token` wrote to
keys/web.token in the state directory.
"""

import ipaddress
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from monclub.config import Config
from monclub.errors import ConfigError
from monclub.wire import keys

_TOKEN = re.compile(r"[\x21-\x7e]{16,256}")
_HOST = re.compile(r"(?:[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?|\[[0-9a-f:.]+\]")
MAX_BODY = 16 * 1024


@dataclass(frozen=True)
class WebSettings:
    bind: str = "127.0.0.1"
    port: int = 0
    actions: bool = False
    token: str | None = None
    max_body: int = MAX_BODY
    hosts: tuple[str, ...] = ()
    open_reads: bool = False

    @property
    def loopback(self) -> bool:
        return ipaddress.ip_address(self.bind).is_loopback

    @property
    def unspecified(self) -> bool:
        """Bound to every address (0.0.0.0 or ::)."""
        return ipaddress.ip_address(self.bind).is_unspecified

    @property
    def guarded(self) -> bool:
        """Does every request need the token (the reads too, unless `open_reads`)? Beyond
        loopback, yes."""
        return self.token is not None and not self.loopback


def _bind(value) -> str:
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        raise ConfigError(f'web.bind = {value!r}: give an IP address, e.g. "127.0.0.1" (the default)') from None


def _port(value) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = -1
    if isinstance(value, bool) or not 0 <= port < 65536:
        raise ConfigError(f"web.port = {value!r}: give a port from 1 to 65535, or 0 for a free one (the default)")
    return port


def _token(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise ConfigError("web.token must be 16 to 256 printable ASCII characters without spaces")
    return value


def _hosts(value) -> tuple[str, ...]:
    """The names clients use beyond loopback (a DNS name, an IPv4 address, or [an IPv6 one])."""
    if not isinstance(value, list) or not all(isinstance(h, str) and _HOST.fullmatch(h.lower()) for h in value):
        raise ConfigError(
            f"web.hosts = {value!r}: give a list of the host names and addresses clients use, "
            'without port, e.g. ["club.example.org", "192.0.2.10", "[2001:db8::1]"]'
        )
    return tuple(h.lower() for h in value)


def token_file(config: Config) -> Path:
    return keys.directory(config.home) / "web.token"


def make_token(config: Config) -> bool:
    """Write a new random token to keys/web.token (0600) unless one is there; True if made."""
    path = token_file(config)
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(secrets.token_urlsafe(32) + "\n")
    return True


def _stored_token(config: Config) -> str | None:
    """The token `monclub keys web-token` made, if any ([web] token and MONCLUB_WEB_TOKEN win)."""
    try:
        return token_file(config).read_text().strip()
    except FileNotFoundError:
        return None


def _flag(table: dict, name: str) -> bool:
    value = table.get(name, False)
    if not isinstance(value, bool):
        raise ConfigError(f"web.{name} must be true or false, got {value!r}")
    return value


def load(config: Config) -> WebSettings:
    table = config.web
    found = WebSettings(
        bind=_bind(table.get("bind", "127.0.0.1")),
        port=_port(table.get("port", 0)),
        actions=_flag(table, "actions"),
        token=_token(table.get("token") or _stored_token(config)),
        hosts=_hosts(table.get("hosts", [])),
        open_reads=_flag(table, "open_reads"),
    )
    if found.token is None and not found.loopback:
        raise ConfigError(
            f"web.bind = {found.bind} is beyond loopback: set web.token (or MONCLUB_WEB_TOKEN, "
            "or run monclub keys web-token) first"
        )
    if found.token is None and found.actions:
        raise ConfigError(
            "web.actions = true needs web.token (or MONCLUB_WEB_TOKEN, or run monclub keys web-token): "
            "the kill buttons ask for it"
        )
    return found
