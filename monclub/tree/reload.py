"""`monclub reload`: every shard process of this node replaced, one at a time, by a fresh one
running the code on disk (the OS-process form of OTP's hot code upgrade).

For each shard, its branch supervisor starts the fresh process, which waits for the old one's
endpoint, and stops the old one, which hands its partitions over (monclub.shards.host); the fresh
one binds the endpoint and takes them at once. Requests sent meanwhile wait in the clients'
queues for the endpoint and are answered by the fresh process: none fails. The next shard is
replaced only once this one serves every partition it hosts.
"""

import time
from collections.abc import Callable

from monclub.client.sync import probe
from monclub.config import Config
from monclub.errors import Timeout, Unavailable
from monclub.registry import BRANCH_NAMES
from monclub.supervision.control import ask, query_status

SERVING_TIMEOUT = 60.0


def reload(
    config: Config, branches: tuple[str, ...] = BRANCH_NAMES, say: Callable[[str], None] = lambda line: None
) -> list[dict]:
    """Replace every shard process of these branches on this node; what was replaced, in order."""
    replaced = []
    for branch in branches:
        status = query_status(config.endpoint(branch))
        if status is None:
            where = config.endpoint(branch)
            raise Unavailable(f"the {branch} supervisor does not answer at {where}; see monclub status")
        for child in status["children"]:
            started = time.monotonic()
            reply = ask(config.endpoint(branch), "replace", timeout=5.0, child=child["name"])
            if reply is None or not reply.get("ok"):
                raise Unavailable(f"{branch}/{child['name']} could not be replaced ({reply}); see monclub status")
            index = int(child["name"].rsplit("-", 1)[1])
            _wait_serving(config, branch, index, reply["result"]["pid"])
            done = {**reply["result"], "place": f"{branch}/{child['name']}", "seconds": time.monotonic() - started}
            say(f"{done['place']}: pid {done['old']} replaced by pid {done['pid']} in {done['seconds']:.2f}s")
            replaced.append(done)
    return replaced


def _wait_serving(config: Config, branch: str, index: int, pid: int) -> None:
    """Until the fresh process `pid` answers and owns every partition it hosts."""
    deadline = time.monotonic() + SERVING_TIMEOUT
    while time.monotonic() < deadline:
        answer = probe(config, index, branch)
        if answer is not None and answer["pid"] == pid and answer["waiting"] is None:
            return
        time.sleep(0.05)
    raise Timeout(f"{branch}/shard-{index} (pid {pid}) does not serve all its partitions after {SERVING_TIMEOUT:.0f}s")
