"""Where the web program listens (run/web.json): written by the web program once it serves, read by
`monclub status` (and so scripts/start) and by the web program's own restart."""

import json
from pathlib import Path

from monclub.config import Config


def address_file(config: Config) -> Path:
    return config.run_dir / "web.json"


def write_address(config: Config, bind: str, port: int, pid: int) -> None:
    """Where the web program listens, for `monclub status`, scripts/start and its own restart."""
    host = f"[{bind}]" if ":" in bind else bind
    path = address_file(config)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"url": f"http://{host}:{port}/", "bind": bind, "port": port, "pid": pid}))
    tmp.replace(path)


def read_address(config: Config) -> dict | None:
    try:
        found = json.loads(address_file(config).read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None
