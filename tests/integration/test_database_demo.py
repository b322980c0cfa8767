"""The three-server demo (scripts/ha-demo) with MonClub on it: three etcd members, three Patroni
and their PostgreSQL 15 on loopback, strict synchronous replication. First, what `monclub status`
and /metrics show of it: the primary and the synchronous standby Patroni names, every standby's
lag and every timeline (and, without Patroni, the owner's role finds the same synchronous
standby from PostgreSQL alone). Under a small load, kill -9
of the primary's postgres: Patroni elects another, MonClub follows, and every outcome a client
was told is in the new primary's data, once. The figures printed: from the kill to another
primary, to its first write (a probe's), to MonClub's first commit after that; the partitions
MonClub's owners took again (their leases ran out while no primary existed) and when the last
was taken; which server `monclub status` says is primary. Then a planned `monclub database
switchover` under load: no request fails (the clients pause), the audit is clean. Last,
`monclub drill database` on a whole tree (`monclub start`) on the demo: two faults of the
primary, its postgres killed and its whole host killed (then started again by the demo, which
the drill asks through SIGUSR1), each timed, then the drill's audit.

No failover happens without a fault: the primary's timeline (one more at each promotion) is
where the module's last fault left it when each test starts, and exactly one more after its
fault (a second promotion, e.g. a spurious one on a loaded machine, fails the test).

The demo is started as its command is (`python -m monclub.postgres.ha`), once for the module,
and stopped by its pid at the end; every process it started must be gone then. Without etcd or
Patroni the test fails, naming what to install (scripts/install --test installs both)."""

import itertools
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from monclub import config as configuration
from monclub.client.sync import Client, probe
from monclub.db import connect, hosts, servers
from monclub.drills import database as database_drill
from monclub.drills.audit import CHECKS
from monclub.drills.load import ACKNOWLEDGED, Load
from monclub.postgres.ha import host, layout, rest
from monclub.postgres.ha.processes import Demo, free_base
from monclub.web.metrics import database_families
from tests.fixtures.failover_figures import database_now, moves_since, prepare_probe, takes_writes
from tests.fixtures.postgres import add_membres
from tests.fixtures.processes import monclub_env, stop_process
from tests.fixtures.waiting import wait_for

# etcd, Patroni and PostgreSQL servers started by the demo; MonClub's branch supervisors.
pytestmark = [pytest.mark.pg, pytest.mark.daemon, pytest.mark.ha, pytest.mark.slow, pytest.mark.timeout(400)]

DEMO_READY = 150.0
LOAD_SECONDS = 30.0
RULES = {rule: query for rule, query in CHECKS.items() if not rule.startswith("listener")}  # no listeners run here


def _read_until_ready(process: subprocess.Popen, seconds: float) -> str:
    """The demo's output up to its `ready` line; fails with what it said if it exits or stalls."""
    assert process.stdout is not None
    said, deadline = "", time.monotonic() + seconds
    while "ready (pid" not in said:
        left = deadline - time.monotonic()
        if left <= 0 or process.poll() is not None:
            process.kill()
            _, errors = process.communicate(timeout=30)
            failure = f"the demo did not come up (exit {process.returncode}):\n{said}{errors.decode()}"
            pytest.fail(failure, pytrace=False)
        if select.select([process.stdout], [], [], min(left, 1.0))[0]:
            said += os.read(process.stdout.fileno(), 65536).decode()
    return said


@pytest.fixture(scope="module")
def demo():
    directory = Path(tempfile.mkdtemp(prefix="mcdemo-", dir="/tmp"))
    directory.chmod(0o711)
    base = free_base()
    process = subprocess.Popen(
        [sys.executable, "-m", "monclub.postgres.ha", "--directory", str(directory / "d"), "--base-port", str(base)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        print(_read_until_ready(process, DEMO_READY))
        yield Demo(directory / "d", base)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=120)
        left = host.working_in(directory)
        for pid in left:  # only the demo's own processes work there; it should have stopped them all
            os.kill(pid, signal.SIGKILL)
        pid_file = (directory / "d" / host.PID_FILE).exists()
        subprocess.run(["rm", "-rf", str(directory)], check=False)
        assert process.returncode == 0 and not left, f"the demo exited {process.returncode}, leaving {left}"
        assert not pid_file, "the demo removes its pid file when it stops"


class Timeline:
    """The timeline the primary should be on: the demo's at the start, one more per fault."""

    def __init__(self, demo: Demo):
        self.demo = demo
        self.expected = self.now()

    def now(self) -> int:
        urls = self.demo.rest_urls
        primary = wait_for(lambda: rest.primary(urls), 60, "a primary", 0.2)
        (member,) = rest.members([primary])
        return member.timeline

    def unchanged(self) -> None:
        assert self.now() == self.expected, "a failover without a fault"

    def moved(self, promotions: int = 1) -> None:
        self.expected += promotions
        assert self.now() == self.expected, "one promotion for one fault"


@pytest.fixture(scope="module")
def timeline(demo):
    return Timeline(demo)


def _env(demo: Demo, home: Path) -> dict:
    env = monclub_env(home, "", 2)
    del env["MONCLUB_DATABASE_URL"], env["MONCLUB_OWNER_DATABASE_URL"]
    return {**env, "MONCLUB_CONFIG": str(demo.directory / "monclub.toml"), "MONCLUB_PRET_SHARDS": "1"}


def _primary_seen(config) -> int:
    """The port of the server `monclub status` (monclub.db.servers) says is primary."""
    (primary,) = [entry["server"] for entry in servers.read(config.conninfo()) if entry["role"] == "primary"]
    return int(primary.rsplit(":", 1)[1])


def _branches(env: dict) -> list[subprocess.Popen]:
    started = [subprocess.Popen([sys.executable, "-m", f"monclub.{name}"], env=env) for name in ("reunions", "prets")]
    config = configuration.load(env)
    for branch in ("reunions", "prets"):
        for shard in range(config.shard_count(branch)):
            wait_for(lambda b=branch, s=shard: probe(config, s, b), 60, f"{branch} shard {shard} to answer", 0.2)
    return started


def _audit(load: Load, config, seance: str, primary: layout.Member) -> list[str]:
    """After the load: a new séance takes a registration (the service is back), MonClub's sessions
    land on `primary`, and every acknowledged outcome is in its data, once (the drills' audit)."""
    with connect(config.conninfo(), autocommit=True) as conn:
        (membre,) = add_membres(conn, 1)
    with Client(config) as client:  # a séance of its own: the load's history is all its pairs have
        client.creer(seance, "Après la bascule", places=1)
        assert client.inscrire(seance, membre) == {"statut": "inscrit"}
    with connect(config.conninfo(), autocommit=True) as conn:
        assert conn.info.port == primary.postgres, "MonClub's sessions landed on the new primary"
        broken = load.contradictions(conn) + load.loan_contradictions(conn)
        return broken + [f"{rule}: {row}" for rule, query in RULES.items() for row in conn.execute(query).fetchall()]


def _longest_pause(answered: list[float], start: float, end: float) -> float:
    """The longest time without any acknowledged answer between `start` and `end`."""
    times = [start, *(moment for moment in answered if start < moment < end), end]
    return max(later - earlier for earlier, later in itertools.pairwise(times))


def test_status_and_metrics_show_the_primary_the_synchronous_standby_lags_timelines_patroni(demo, timeline, state_dir):
    env = _env(demo, state_dir)
    wait_for(demo.sync_standby, 60, "a synchronous standby")
    primary, sync = demo.primary(), demo.sync_standby()
    status = [sys.executable, "-m", "monclub", "status"]
    shown = subprocess.run([*status, "--json"], env=env, capture_output=True, text=True)
    found = {entry["server"]: entry for entry in json.loads(shown.stdout)["database"]}
    assert primary is not None and len(found) == 3
    for member in demo.members:
        entry = found[f"{layout.LOOPBACK}:{member.postgres}"]
        assert entry["timeline"] == timeline.expected and entry["patroni"]["name"] == member.name
        if member == primary:
            assert (entry["role"], entry["patroni"]["role"], entry["lag_bytes"]) == ("primary", "leader", None)
        else:
            assert entry["role"] == "standby" and entry["lag_bytes"] >= 0
            assert entry["sync"] == (member.name == sync) == (entry["patroni"]["role"] == "sync_standby")
    text = subprocess.run(status, env=env, capture_output=True, text=True).stdout
    assert f"{layout.LOOPBACK}:{primary.postgres}" in text and "synchronous  lag " in text and "Patroni: " in text
    # Without Patroni's REST API, PostgreSQL alone: the owner's role may read which standby is synchronous.
    said = {e["server"]: e["sync"] for e in servers.read(configuration.load(env).owner_conninfo())}
    assert [f"{layout.LOOPBACK}:{m.postgres}" for m in demo.members if m.name == sync] == [
        server for server, synchronous in said.items() if synchronous
    ]
    families = {f.name: f for f in database_families(list(found.values()))}
    assert {s.labels["server"] for s in families["monclub_database_timeline"].samples} == set(found)
    timeline.unchanged()


def test_a_kill_of_the_primarys_postgres_fails_over_and_nothing_acknowledged_is_lost(demo, timeline, state_dir):
    env = _env(demo, state_dir)
    config = configuration.load(env)
    branches = _branches(env)
    try:
        before = demo.primary()
        assert before is not None
        prepare_probe(config.owner_conninfo())
        load = Load(config, clients=2, seed=26)
        load.prepare()
        load.start(time.monotonic() + LOAD_SECONDS)
        wait_for(lambda: load.outcomes.acknowledged >= 30, 30, "the load to run")
        timeline.unchanged()

        assert _primary_seen(config) == before.postgres, "the status's primary is Patroni's"
        with connect(config.conninfo(), autocommit=True) as conn:
            since = database_now(conn)
        pid = demo.postmaster(before)
        killed = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        after = wait_for(lambda: (p := demo.primary()) not in (None, before) and p, 60, "another primary", 0.2)
        elected = time.monotonic()
        alone = make_conninfo("", **hosts.alone(conninfo_to_dict(config.owner_conninfo()), after.index))
        wait_for(lambda: takes_writes(alone), 60, "the new primary to take a write", 0.05)
        accepting = time.monotonic()
        # A commit may still land in the first milliseconds (the killed postmaster's backends end
        # when they notice): the figure is the first one after the new primary was seen.
        committed = wait_for(lambda: load.outcomes.first_answer_after(elected), 60, "a commit on the new primary", 0.1)
        serving = wait_for(lambda: load.outcomes.first_answer_after(accepting), 60, "a commit after the probe's", 0.1)
        assert load.finish() == 0, "every client stopped by the load's deadline"
        assert _primary_seen(config) == after.postgres

        broken = _audit(load, config, "apres-bascule", after)
        with connect(config.conninfo(), autocommit=True) as conn:
            partitions, takes, last = moves_since(conn, since)
        print(
            f"another primary {elected - killed:.1f}s after the kill, its first write {accepting - killed:.1f}s, "
            f"MonClub serving again {serving - accepting:.1f}s after that; {partitions} partitions taken again "
            f"({takes} takes), the last {last or 0:.1f}s after the kill"
        )
        print(
            f"kill -9 of {before.name}'s postgres (pid {pid}): {after.name} primary after {elected - killed:.1f}s, "
            f"the first commit through MonClub after that {committed - killed:.1f}s after the kill; "
            f"{load.outcomes.acknowledged} outcomes acknowledged, {load.outcomes.retries} retries, "
            f"{dict(load.outcomes.counts)}"
        )
        assert broken == [], "acknowledged outcomes lost or applied twice:\n" + "\n".join(broken)
        wait_for(demo.sync_standby, 60, "a synchronous standby again (the third server, or the old primary rejoined)")
        timeline.moved()
    finally:
        for process in branches:
            stop_process(process)


def test_a_switchover_under_load_fails_no_request(demo, timeline, state_dir):
    env = _env(demo, state_dir)
    config = configuration.load(env)
    branches = _branches(env)
    try:
        wait_for(demo.sync_standby, 60, "a synchronous standby")
        before = demo.primary()
        load = Load(config, clients=2, seed=27)
        load.prepare()
        load.start(time.monotonic() + LOAD_SECONDS)
        wait_for(lambda: load.outcomes.acknowledged >= 30, 30, "the load to run")
        timeline.unchanged()

        asked = time.monotonic()
        command = [sys.executable, "-m", "monclub", "database", "switchover", "--json"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=90)
        returned = time.monotonic()
        assert done.returncode == 0, done.stdout + done.stderr
        moved = json.loads(done.stdout)
        after = demo.primary()
        assert after is not None and moved["from"] == before.name and moved["to"] == after.name != before.name
        serving = wait_for(lambda: load.outcomes.first_answer_after(returned), 60, "a commit after the switchover")
        assert load.finish() == 0, "every client stopped by the load's deadline"
        pause = _longest_pause(load.outcomes.answered, asked, serving)

        broken = _audit(load, config, "apres-switchover", after)
        failed = {code: n for code, n in load.outcomes.counts.items() if code not in ACKNOWLEDGED}
        print(
            f"switchover {before.name} -> {after.name}: the command returned after {returned - asked:.1f}s, "
            f"the clients' longest pause {pause:.1f}s; {load.outcomes.acknowledged} outcomes acknowledged, "
            f"{load.outcomes.retries} retries, {dict(load.outcomes.counts)}"
        )
        assert failed == {}, "a request failed across a planned switchover"
        assert broken == [], "acknowledged outcomes lost or applied twice:\n" + "\n".join(broken)
        wait_for(demo.sync_standby, 60, "a synchronous standby again (the old primary rejoined)")
        timeline.moved()
    finally:
        for process in branches:
            stop_process(process)


def test_the_database_drill_kills_the_primarys_postgres_then_its_whole_host_and_audits(demo, timeline, state_dir):
    """Seed 5 puts the postgres kill first: after it the demo settles within seconds, well before
    the second fault is due (a host killed first would take its ttl and a rewind to settle)."""
    env = _env(demo, state_dir)
    assert (demo.directory / host.PID_FILE).exists(), "the demo says where it runs"
    subprocess.run([sys.executable, "-m", "monclub", "start"], env=env, check=True, capture_output=True, timeout=180)
    try:
        timeline.unchanged()
        # The first fault 15 s in, the second 15 s after it at the earliest (once settled), a third
        # never: it would be due after the load's 35 s. The demo's own config file says where it is.
        argv = ["drill", "database", "--duration", "35", "--fault-every", "15", "--kinds", "postgres,kill"]
        command = [sys.executable, "-m", "monclub", *argv, "--seed", "5", "--clients", "2", "--json"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=360)
        assert done.stdout, done.stderr
        report = json.loads(done.stdout)
        print("\n".join(database_drill.report_lines(report)))
        assert done.returncode == 0 and report["violations"] == [], done.stderr
        assert [(row["kind"], row["commit_seconds"] is not None) for row in report["faults"]] == [
            ("postgres", True),
            ("kill", True),
        ]
        assert [report["commit_seconds"][group]["count"] for group in ("postgres", "host")] == [1, 1]
        assert demo.settled(), "the killed host started again and streaming (the drill waited for it)"
        timeline.moved(2)
    finally:
        subprocess.run([sys.executable, "-m", "monclub", "stop"], env=env, capture_output=True, timeout=180)
