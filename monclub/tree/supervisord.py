"""The whole supervision tree, seen from outside: start supervisord, stop it, read its state.

supervisord is the root; its programs are the embedded PostgreSQL and the Réunions supervisor,
whose children (the shards) are read from the supervisor's own control socket.
"""

import os
import re
import subprocess
import sys
import time
import xmlrpc.client

from monclub.config import CHECKOUT, Config
from monclub.errors import ConfigError
from monclub.registry import BRANCH_NAMES, BRANCHES
from monclub.supervision import starts
from monclub.supervision.control import query_status
from monclub.supervision.rpc import rpc
from monclub.tree.web_address import read_address

CONF = CHECKOUT / "supervisord.conf"
ORDER = ("postgres", "bus", "relay", "replay", *BRANCH_NAMES, "paiements", "notifications", "accueil", "web")
DOWN = ("STOPPED", "EXITED", "FATAL", "BACKOFF")


def supervisord_pid(config: Config) -> int | None:
    """The pid of this home's supervisord if it is alive and answering, else None."""
    try:
        with rpc(config) as proxy:
            return proxy.supervisor.getPID() if proxy.supervisor.getState()["statename"] == "RUNNING" else None
    except (OSError, xmlrpc.client.Error):
        return None


def environment(config: Config) -> dict:
    return {
        **os.environ,
        "MONCLUB_HOME": str(config.home),
        "MONCLUB_PYTHON": sys.executable,
        "MONCLUB_POSTGRES_AUTOSTART": "true" if config.embedded else "false",
        "MONCLUB_BRANCH_PROGRAMS": " ".join(branch_programs()),
    }


def branch_programs() -> list[str]:
    """The program files of the registered branches that carry one (`program.conf` in their
    folder), which supervisord.conf's [include] reads. supervisord splits that list at whitespace:
    a path with a space in it is refused here rather than half-read there."""
    found = [branch.folder() / "program.conf" for branch in BRANCHES]
    programs = [str(path) for path in found if path.exists()]
    for path in programs:
        if any(character.isspace() for character in path):
            raise ConfigError(f"{path}: supervisord's [include] cannot read a path with a space; move the branch")
    return programs


def launch(config: Config, foreground: bool) -> None:
    """Start supervisord with the top-level supervisord.conf (exec'd when in the foreground)."""
    config.prepare_dirs()
    starts.reset(config.run_dir)
    argv = [sys.executable, "-m", "monclub.supervision.supervisord_main", "-c", str(CONF)]
    if foreground:
        os.execve(sys.executable, [*argv, "-n"], environment(config))
    done = subprocess.run(argv, env=environment(config), capture_output=True, text=True)
    if done.returncode != 0:
        raise ConfigError(f"supervisord did not start: {(done.stderr or done.stdout).strip()[-800:]}")


def revive(config: Config) -> list[str]:
    """Start again every program of a running tree that is not running (stopped by hand, exited
    on a configuration error since fixed, or given up on): the names asked to start."""
    with rpc(config) as proxy:
        down = [
            info["name"]
            for info in proxy.supervisor.getAllProcessInfo()
            if info["statename"] in DOWN and (config.embedded or info["name"] != "postgres")
        ]
        for name in down:
            proxy.supervisor.startProcess(name, False)
    return down


def shutdown(config: Config, timeout: float = 90.0) -> bool:
    """Ask supervisord to stop every program and exit; True once it is gone."""
    pid = supervisord_pid(config)
    if pid is None:
        return False
    with rpc(config) as proxy:
        proxy.supervisor.shutdown()
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            raise ConfigError(f"supervisord (pid {pid}) did not stop within {timeout:.0f}s; see {config.log_dir}")
        time.sleep(0.1)
    return True


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting to be reaped does not count, nor a process reaped
    between the open and the read of its stat file: that read fails with ESRCH)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


EXIT_MEANINGS = {78: "configuration error"}
BRANCH_EXIT_MEANINGS = {1: "restart intensity exceeded"}


def _exit_causes(config: Config, pid: int) -> dict[str, str]:
    """The last exit cause of each program since supervisord `pid` started, as supervisord logged
    it ("terminated by SIGKILL"): an earlier run's exits are not this tree's."""
    path = config.log_dir / "supervisord.log"
    if not path.exists():
        return {}
    with path.open("rb") as log:
        log.seek(max(0, path.stat().st_size - 256 * 1024))
        text = log.read().decode(errors="replace")
    text = text.rpartition(f"supervisord started with pid {pid}")[2]
    return {name: cause.split(";")[0] for name, cause in re.findall(r" exited: (\S+) \(([^)]*)\)", text)}


def describe_cause(name: str, cause: str | None) -> str | None:
    """supervisord's words for an exit in the supervisors' words ("killed by SIGKILL", "exit 1"),
    with what a meaningful exit status means ("exit 78 (configuration error)")."""
    if cause is None:
        return None
    cause = cause.replace("terminated by ", "killed by ").replace("exit status ", "exit ")
    code = re.fullmatch(r"exit (\d+)", cause)
    meanings = {**EXIT_MEANINGS, **(BRANCH_EXIT_MEANINGS if name in BRANCH_NAMES else {})}
    if code and int(code[1]) in meanings:
        return f"{cause} ({meanings[int(code[1])]})"
    return cause


def _program(info: dict, config: Config, now: float, causes: dict[str, str]) -> dict:
    running = info["statename"] == "RUNNING"
    return {
        "name": info["name"],
        "pid": info["pid"] or None,
        "state": info["statename"].lower(),
        "uptime": round(now - info["start"], 1) if running else None,
        "restarts": max(0, starts.starts(config.run_dir, info["name"]) - 1),
        "last_exit": describe_cause(info["name"], causes.get(info["name"])),
    }


def status(config: Config) -> dict:
    """The tree as data: supervisord, its programs, and each branch's shards."""
    pid = supervisord_pid(config)
    if pid is None:
        return {"supervisord": {"pid": None, "state": "stopped"}, "programs": [], "healthy": False}
    now, causes = time.time(), _exit_causes(config, pid)
    with rpc(config) as proxy:
        infos = proxy.supervisor.getAllProcessInfo()
    programs = [_program(info, config, now, causes) for info in infos if config.embedded or info["name"] != "postgres"]
    programs.sort(key=lambda p: ORDER.index(p["name"]) if p["name"] in ORDER else len(ORDER))
    for program in programs:
        if program["name"] == "web" and program["pid"]:
            program["url"] = _web_url(config, program["pid"])
        if program["name"] in BRANCH_NAMES:
            branch = query_status(config.endpoint(program["name"]), timeout=1.0) if program["pid"] else None
            program["children"] = branch["children"] if branch else []
            program["spare"] = branch.get("spare") if branch else None
            program["spare_ready"] = bool(branch and branch.get("spare_ready"))
    return {
        "supervisord": {"pid": pid, "state": "running"},
        "programs": programs,
        "healthy": _healthy(config, programs),
    }


def _web_url(config: Config, pid: int) -> str | None:
    """The address the running web program wrote to run/web.json (monclub.web.settings)."""
    found = read_address(config) or {}
    return found.get("url") if found.get("pid") == pid else None


def places(state: dict) -> dict[str, int | None]:
    """pid by place in the tree: 'supervisord', 'relay', 'reunions', 'reunions/shard-0', ..."""
    found = {"supervisord": state["supervisord"]["pid"]}
    for program in state["programs"]:
        found[program["name"]] = program["pid"]
        for child in program.get("children", []):
            found[f"{program['name']}/{child['name']}"] = child["pid"]
    return found


def all_places(config: Config) -> list[str]:
    """Every place of this configuration's tree, running or not, in the tree's order."""
    found = ["supervisord"]
    for name in ORDER:
        if name == "postgres" and not config.embedded:
            continue
        found.append(name)
        if name in BRANCH_NAMES:
            found += [f"{name}/shard-{i}" for i in range(config.shard_count(name))]
    return found


def _healthy(config: Config, programs: list[dict]) -> bool:
    if not all(p["state"] == "running" for p in programs):
        return False
    expected = {branch: config.shard_count(branch) for branch in BRANCH_NAMES}
    for program in programs:
        children = program.get("children", [])
        if program["name"] in expected and (
            len(children) != expected[program["name"]] or any(c["state"] != "running" for c in children)
        ):
            return False
    return True
