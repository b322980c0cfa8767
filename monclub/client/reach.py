"""Whether a shard can answer, decided without waiting for a reply (docs/protocol.md, section 9).

Either a process listens at the shard's endpoint (a connect succeeds at once), or none does. Then
either a part of this state directory's tree will start the shard again (its branch supervisor,
or supervisord with the branch starting or running), and the client keeps trying until its
deadline, as through any kill; or nothing will, and the call fails at once, saying what to run.
A tcp endpoint on another host cannot be checked so: only its silence at the deadline tells.
"""

import ipaddress
import socket
import xmlrpc.client

from monclub.config import Config
from monclub.supervision.rpc import rpc

_CONNECT_TIMEOUT = 0.5
# supervisord states from which a program comes back by itself (EXITED: autorestart is pending).
_COMING_BACK = {"RUNNING", "STARTING", "BACKOFF", "EXITED"}


def listening(endpoint: str) -> bool | None:
    """True if a process accepts connections at `endpoint`, False if none does, None if that cannot
    be told from here (tcp to another host)."""
    kind, _, address = endpoint.partition("://")
    if kind == "ipc":
        return _accepts(socket.AF_UNIX, address)
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    if not _on_this_machine(host):
        return None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return _accepts(family, (host, int(port)))


def _on_this_machine(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    return address.is_loopback or address.is_unspecified


def _accepts(family: int, address) -> bool:
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.settimeout(_CONNECT_TIMEOUT)
        try:
            probe.connect(address)
        except (FileNotFoundError, ConnectionRefusedError):
            return False
        except OSError:
            return True  # a full backlog or a timeout: someone is there, busy
        return True


def down(config: Config, branch: str, endpoint: str) -> str | None:
    """Why nothing answers at `endpoint` (a shard of `branch`) and nothing will start it again, in
    one line with what to do; None while it listens, may come back, or cannot be checked."""
    if listening(endpoint) is not False or listening(config.endpoint(branch)):
        return None
    try:
        with rpc(config) as proxy:
            state = proxy.supervisor.getProcessInfo(branch)["statename"]
    except (OSError, xmlrpc.client.ProtocolError):
        return f"MonClub is not running (nothing listens at {endpoint}); try: monclub start"
    except xmlrpc.client.Fault:
        return f"this MonClub's supervisord runs no {branch} branch (nothing listens at {endpoint}); see monclub status"
    if state in _COMING_BACK:
        return None
    return f"the {branch} branch is {state.lower()} (nothing listens at {endpoint}); see monclub status"
