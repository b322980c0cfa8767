"""Patroni's REST API, as far as MonClub uses it: who leads, which timeline, and a planned
switchover (docs/database.md). Patroni, not MonClub, moves the primary: MonClub only asks the
primary's Patroni to hand over (`POST /switchover`, which answers once another member holds the
leader key) and then waits until the new primary's Patroni says it takes writes, so that the
command returns when the club can write again, not merely when the key moved.

Patroni's own endpoints: `GET /patroni` (this member's name, role, state and timeline), `GET
/primary` (200 only on the running primary holding the leader key), `GET /cluster` (every
member), `POST /switchover {"leader": name, "candidate": name?}` (200 once done; 412 when no
candidate fits, e.g. a candidate that is not the synchronous standby in strict synchronous mode;
503 when it failed or its outcome is unknown)."""

import contextlib
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from monclub.errors import MonclubError

SWITCHOVER_SECONDS = 30.0  # Patroni polls its outcome for up to 20 s before answering
PROMOTED_SECONDS = 30.0


def get(url: str, timeout: float = 2.0) -> tuple[int, dict]:
    """The status and JSON body of a GET (an error status is an answer too); OSError when
    nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def post(url: str, body: dict, timeout: float) -> tuple[int, str]:
    """The status and text of a POST of `body` as JSON (Patroni answers its actions in text)."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode().strip()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode().strip()


def cluster(urls: list[str]) -> dict:
    """Patroni's view of every member (`/cluster` of the first that answers); OSError when none does."""
    for url in urls:
        with contextlib.suppress(OSError, ValueError):
            return get(f"{url}/cluster")[1]
    raise OSError("no Patroni answers")


def ready(urls: list[str], size: int) -> bool:
    """`settled`, as every Patroni sees it (False when one does not answer): each answers from
    its own view, and right after a fault one may still show the cluster as it was."""
    try:
        return all(settled(cluster([url]), size) for url in urls)
    except OSError:
        return False


def settled(cluster: dict, size: int) -> bool:
    """Whether Patroni's `/cluster` shows `size` members, all on the primary's timeline: the
    primary running, every other member streaming from it, one of them the synchronous standby.
    A standby that is still starting, being rewound or catching up (`running`, `starting`…) does
    not count. If the primary fails then, strict synchronous mode has no standby left to confirm
    a commit, and writes stop until one streams again, as when two of three hosts are lost."""
    found = cluster.get("members", [])
    leaders = [member for member in found if member.get("role") == "leader"]
    if len(found) != size or len(leaders) != 1 or leaders[0].get("state") != "running":
        return False
    timeline = leaders[0].get("timeline")
    standbys = [member for member in found if member.get("role") != "leader"]
    following = all(m.get("state") == "streaming" and m.get("timeline", timeline) == timeline for m in standbys)
    return following and any(member.get("role") == "sync_standby" for member in standbys)


@dataclass(frozen=True)
class Member:
    url: str  # its Patroni's REST API, as the configuration names it
    name: str
    role: str  # what its PostgreSQL is: primary, replica, or unreachable
    timeline: int | None


def members(urls: list[str]) -> list[Member]:
    """What each Patroni says of its own member (`/patroni`), in the configuration's order."""
    found = []
    for url in urls:
        try:
            body = get(f"{url}/patroni")[1]
            found.append(Member(url, body["patroni"]["name"], body.get("role", "unknown"), body.get("timeline")))
        except (OSError, ValueError, KeyError):
            found.append(Member(url, "?", "unreachable", None))
    return found


def primary(urls: list[str]) -> str | None:
    """The REST API of the member whose Patroni says it is the running primary with the key."""
    for url in urls:
        with contextlib.suppress(OSError, ValueError):
            if get(f"{url}/primary")[0] == 200:
                return url
    return None


def switchover(urls: list[str], candidate: str | None = None) -> dict:
    """Ask the primary's Patroni to hand over to `candidate` (Patroni's choice, the synchronous
    standby, when None); return once another member is the running primary: {from, to,
    seconds, patroni (its answer)}. MonclubError (unavailable) when no primary answers, Patroni
    refuses, or no other primary takes writes in time."""
    everyone = members(urls)
    leader = next((member for member in everyone if member.role == "primary"), None)
    if leader is None:
        raise MonclubError("no Patroni says its PostgreSQL is primary: " + _roles(everyone), "unavailable")
    started = time.monotonic()
    body = {"leader": leader.name, **({"candidate": candidate} if candidate else {})}
    try:
        status, said = post(f"{leader.url}/switchover", body, SWITCHOVER_SECONDS)
    except OSError as error:
        raise MonclubError(f"{leader.name}'s Patroni did not answer the switchover: {error}", "unavailable") from error
    if status != 200:  # 400, 412: refused, nothing done (no candidate fits); 503: failed, or its outcome unknown
        refused = "invalid_request" if status in (400, 412) else "unavailable"
        raise MonclubError(f"{leader.name}'s Patroni answered the switchover {status}: {said}", refused)
    deadline = started + PROMOTED_SECONDS
    while (now := primary(urls)) in (None, leader.url):
        if time.monotonic() > deadline:
            raise MonclubError(f"{said}, but no other primary takes writes {PROMOTED_SECONDS:.0f}s on", "unavailable")
        time.sleep(0.1)
    to = next(member.name for member in members([now]))
    return {"from": leader.name, "to": to, "seconds": round(time.monotonic() - started, 1), "patroni": said}


def _roles(everyone: list[Member]) -> str:
    return ", ".join(f"{member.name} ({member.url}) {member.role}" for member in everyone)
