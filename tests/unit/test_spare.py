"""The spare's exchange with its supervisor (monclub.supervision.spare), on a real socket pair:
the spare runs on a thread here, as it runs in a forked process under a branch supervisor
(tests/integration/test_spare.py); and how `monclub status` words it."""

import socket
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from monclub.cli.daemon import render
from monclub.supervision.spare import Spare, wait_to_become
from tests.fixtures.waiting import wait_for

RUNS = [lambda: 10, lambda: 11, lambda: 12]  # each child's body: its exit code


@pytest.fixture
def pool():
    with ThreadPoolExecutor(1) as executor:
        yield executor


def _spare(pool: ThreadPoolExecutor, prepare) -> tuple[Spare, Future]:
    mine, theirs = socket.socketpair()
    return Spare(pid=0, channel=mine), pool.submit(wait_to_become, prepare, RUNS, theirs.detach())


def test_the_spare_is_ready_once_prepared_and_becomes_the_child_it_is_handed(pool):
    go = threading.Event()
    spare, body = _spare(pool, lambda: go.wait(10))
    assert not spare.ready, "still preparing"
    go.set()
    wait_for(lambda: spare.ready, 10, "the spare to say it is ready")
    assert spare.hand(1)
    assert body.result(10) == 11, "it ran child 1's body"


def test_a_spare_handed_an_index_while_preparing_becomes_that_child(pool):
    go = threading.Event()
    spare, body = _spare(pool, lambda: go.wait(10))
    assert spare.hand(2), "the index waits in the pair"
    go.set()
    assert body.result(10) == 12


def test_a_spare_whose_preparation_fails_is_never_ready_and_still_becomes_a_child(pool, caplog):
    def fail() -> None:
        raise OSError("no database")

    spare, body = _spare(pool, fail)
    wait_for(lambda: "preparation failed" in caplog.text, 10, "the failure logged")
    assert not spare.ready
    assert spare.hand(0)
    assert body.result(10) == 10


@pytest.mark.parametrize("read_ready", [True, False], ids=["its ready read", "its ready unread"])
def test_a_spare_whose_supervisor_closes_the_pair_exits_0(pool, read_ready):
    spare, body = _spare(pool, lambda: None)
    if read_ready:
        wait_for(lambda: spare.ready, 10, "the spare to say it is ready")
    spare.close()
    assert body.result(10) == 0


def test_handing_to_a_spare_that_is_gone_says_so(pool):
    spare, body = _spare(pool, lambda: None)
    spare.channel.shutdown(socket.SHUT_WR)  # the spare reads the end, as when its supervisor stops
    assert body.result(10) == 0
    assert not spare.hand(1), "the child is then forked"


@pytest.mark.parametrize("ready, said", [(True, "ready to become"), (False, "not ready yet, will become")])
def test_status_says_whether_the_spare_is_ready(ready, said):
    shard = {"name": "shard-0", "pid": 41, "state": "running", "uptime": 3.0, "restarts": 0}
    program = {"name": "reunions", "pid": 40, "state": "RUNNING", "children": [shard]}
    state = {
        "supervisord": {"pid": 1, "state": "running"},
        "programs": [{**program, "spare": 42, "spare_ready": ready}],
    }
    assert render(state).splitlines()[-1] == f"    └── spare          pid 42      {said} the next restarted shard"
