"""The spare shard process (monclub.supervision.spare): forked ahead with its sessions open
(monclub.db.open_ahead), it becomes the shard its supervisor restarts, and another spare is
forked after it."""

import os
import signal
from pathlib import Path

import pytest

from monclub import registry
from monclub.client.sync import probe
from monclub.cluster.partition import hosted
from monclub.db import close_ahead, connect, open_ahead
from tests.fixtures.waiting import wait_for


def spare_of(reunions, other_than: int | None = None) -> int:
    """The supervisor's spare, once it has one (other than `other_than`)."""
    return wait_for(
        lambda: (spare := (reunions.status() or {}).get("spare")) not in (None, other_than) and spare, 10, "a spare"
    )


def prepared(reunions, pid: int) -> bool:
    """Whether the spare `pid` has opened its sessions: its supervisor says so, and so does its title in ps."""
    said = (reunions.status() or {}).get("spare_ready")
    return said and "reunions/spare ready" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")


def test_a_killed_shard_is_restarted_in_the_spare_on_the_sessions_it_opened_ahead(reunions):
    """Its first tick takes one session opened ahead per partition it hosts, and one for the live
    nodes (its ping counts them); a shard forked as before took none."""
    reunions.wait_ready()
    spare = spare_of(reunions)
    wait_for(lambda: prepared(reunions, spare), 10, "the spare's sessions open")
    reunions.kill_shard(0)
    wait_for(lambda: reunions.shard_pids()[0] == spare, 10, "shard 0 restarted in the spare")
    partitions = hosted(reunions.config.partition_count("reunions"), reunions.config.shard_count("reunions"), 0)
    taken = wait_for(lambda: (probe(reunions.config, 0) or {}).get("sessions_ahead_taken"), 10, "shard 0's answer")
    assert taken == len(partitions) + 1
    assert (probe(reunions.config, 1) or {})["sessions_ahead_taken"] == 0
    reunions.wait_ready()
    assert reunions.status()["children"][0]["restarts"] == 1
    assert spare_of(reunions, other_than=spare) not in reunions.shard_pids().values()


def test_a_killed_spare_is_forked_again_and_counts_as_no_restart(reunions):
    spare = spare_of(reunions)
    os.kill(spare, signal.SIGKILL)
    spare_of(reunions, other_than=spare)
    assert [child["restarts"] for child in reunions.status()["children"]] == [0] * reunions.config.shards


def exited(pid: int) -> bool:
    """Whether process `pid` has exited, its sockets closed (a zombie's are; a backend leaves
    pg_stat_activity before it closes its socket)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def backends(sql) -> set[int]:
    return {row[0] for row in sql.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")}


@pytest.mark.parametrize("name", registry.BRANCH_NAMES)
def test_connect_takes_the_sessions_opened_ahead_while_the_server_keeps_them(database, sql, name):
    """Each branch's store warms them; one the server ended is skipped, and other arguments open their own."""
    before = backends(sql)
    assert open_ahead(database, 2, registry.branch(name).wiring().store.warm, autocommit=True) == 2
    ahead = backends(sql) - before
    ended = ahead.pop()
    sql.execute("SELECT pg_terminate_backend(%s)", (ended,))
    wait_for(lambda: exited(ended), 5, "the backend to exit")
    with connect(database, autocommit=True) as taken:
        assert taken.info.backend_pid in ahead
        with connect(database, autocommit=True) as fresh, connect(database) as other:
            assert fresh.info.backend_pid not in before | ahead | {ended}
            assert other.info.backend_pid not in before | ahead | {ended, fresh.info.backend_pid}


def test_the_sessions_opened_ahead_and_not_taken_are_closed(database, sql):
    before = backends(sql)
    open_ahead(database, 2, registry.branch("reunions").wiring().store.warm, autocommit=True)
    ahead = backends(sql) - before
    close_ahead()
    wait_for(lambda: all(exited(pid) for pid in ahead), 5, "the sessions opened ahead to end")
    with connect(database, autocommit=True) as fresh:
        assert fresh.info.backend_pid not in ahead
