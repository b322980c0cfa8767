"""A demo member's host (monclub.postgres.ha.host): its processes found from a /proc tree (a fake
one here: a directory of `<pid>/cwd` links), what each kind of fault hits, and the demo's pid
file, which says whether a demo runs in a directory."""

import os
import signal
import subprocess
from pathlib import Path

from monclub.postgres.ha import host


def _fake_proc(root: Path, cwds: dict[str, str]) -> Path:
    proc = root / "proc"
    proc.mkdir()
    for pid, cwd in cwds.items():
        (proc / pid).mkdir()
        if cwd:
            os.symlink(cwd, proc / pid / "cwd")
    return proc


def test_a_members_host_is_every_process_working_under_its_home(tmp_path):
    proc = _fake_proc(
        tmp_path,
        {
            "101": "/demo/pg1",  # etcd, Patroni
            "102": "/demo/pg1",
            "103": "/demo/pg1/data",  # PostgreSQL
            "104": "/demo/pg10",  # another home with the same prefix
            "105": "/demo/pg2/data",
            "106": "",  # a zombie, or a process not ours to read: no cwd
            "self": "/demo/pg1",
        },
    )
    assert host.working_in(Path("/demo/pg1"), proc) == [101, 102, 103]
    assert host.working_in(Path("/demo"), proc) == [101, 102, 103, 104, 105]


def test_a_postgres_fault_hits_the_postmaster_alone_a_host_fault_every_process(tmp_path):
    home = tmp_path / "pg0"
    (home / "data").mkdir(parents=True)
    (home / "data" / "postmaster.pid").write_text(f"4242\n{home / 'data'}\n1700000000\n15403\n")
    proc = _fake_proc(tmp_path, {"4242": str(home / "data"), "4000": str(home)})
    assert host.processes(home, whole_host=False, proc=proc) == [4242]
    assert host.processes(home, whole_host=True, proc=proc) == [4000, 4242]


def test_the_demo_is_running_while_its_pid_file_names_a_live_process(tmp_path):
    assert host.demo_pid(tmp_path) is None
    host.write_pid(tmp_path)
    assert host.demo_pid(tmp_path) == os.getpid()
    (tmp_path / host.PID_FILE).write_text("999999999\n")  # beyond pid_max: no such process
    assert host.demo_pid(tmp_path) is None
    host.remove_pid(tmp_path)
    assert not (tmp_path / host.PID_FILE).exists()


def test_a_fault_signals_every_process_still_there_and_skips_one_that_ended():
    ended = subprocess.Popen(["true"])
    ended.wait()
    running = subprocess.Popen(["sleep", "30"])
    try:
        host.signal_all([ended.pid, running.pid], signal.SIGKILL)
        assert running.wait(timeout=10) == -signal.SIGKILL
    finally:
        running.kill()
