"""supervisord's XML-RPC interface, over the unix socket of this home's supervisord: what the
tree's view (monclub.tree) and the client's reachability check (monclub.client.reach) ask it."""

import xmlrpc.client
from pathlib import Path

from supervisor.xmlrpc import SupervisorTransport

from monclub.config import Config


def socket_path(config: Config) -> Path:
    return config.run_dir / "supervisord.sock"


def rpc(config: Config):
    """The interface: use it in a `with` block, which closes its connection (the transport keeps
    one open for the next call)."""
    transport = SupervisorTransport(None, None, f"unix://{socket_path(config)}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)
