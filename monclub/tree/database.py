"""The database's hosts as `monclub status`, the web's tree page and /metrics show them: which is
primary, which standby its commits wait for, how far each standby is behind, its timeline, and
what Patroni says of it (docs/database.md, "Seeing it").

Two sources, side by side rather than one instead of the other: PostgreSQL itself, asked on each
server of the URL (monclub.db.servers), which MonClub can always reach and whose answer is what
its own sessions see; and Patroni's `GET /cluster` when patroni_urls names its REST APIs, which
says what Patroni decided (leader, sync_standby, replica), its member's state and its view of the
lag. When the two disagree (a server promoted that Patroni has not recorded yet), both show."""

import contextlib

from monclub.config import Config
from monclub.db import servers
from monclub.postgres.ha import rest


def hosts(config: Config, timeout: int = 2) -> list[dict]:
    """Each server of the URL (monclub.db.servers.read), with `patroni`: what Patroni's /cluster
    says of the member at that address ({name, role, state, lag_bytes}; None without patroni_urls,
    or when no Patroni answers or names it). A synchronous standby Patroni names counts as such
    even when PostgreSQL hides it from this role."""
    found = servers.read(config.conninfo(), timeout)
    members = _patroni(list(config.patroni_urls), timeout)
    for entry in found:
        said = members.get(entry["server"])
        entry["patroni"] = said
        if said is not None and entry["sync"] is None and entry["role"] == servers.STANDBY:
            entry["sync"] = said["role"] in ("sync_standby", "quorum_standby")
    return found


def _patroni(urls: list[str], timeout: int) -> dict[str, dict]:
    """Patroni's members by "host:port" of their PostgreSQL, from the first REST API answering."""
    for url in urls:
        with contextlib.suppress(OSError, ValueError):
            status, body = rest.get(f"{url}/cluster", timeout)
            if status == 200:
                return {f"{m['host']}:{m['port']}": _member(m) for m in body.get("members", []) if "host" in m}
    return {}


def _member(member: dict) -> dict:
    lag = member.get("lag")
    return {
        "name": member.get("name"),
        "role": member.get("role"),
        "state": member.get("state"),
        "lag_bytes": lag if isinstance(lag, int) else None,
    }


def render(found: list[dict]) -> list[str]:
    """The `database` lines of `monclub status`: one per server."""
    return ["database"] + [f"  {_describe(entry)}" for entry in found]


def _describe(entry: dict) -> str:
    parts = [f"{entry['server']:<20}", f"{entry['role']:<11}"]
    if entry["role"] == servers.STANDBY:
        parts.append({True: "synchronous", False: "asynchronous", None: "sync ?"}[entry["sync"]])
        parts.append(f"lag {_bytes(entry['lag_bytes'])}")
    if entry["timeline"] is not None:
        parts.append(f"timeline {entry['timeline']}")
    said = entry.get("patroni")
    if said is not None:
        parts.append(f"Patroni: {said['name']} {said['role']} {said['state']}")
    return "  ".join(parts)


def _bytes(count: int | None) -> str:
    return "?" if count is None else f"{count} B"
