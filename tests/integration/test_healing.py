"""The tree heals whatever is killed, however often: no program is ever given up on, and
`monclub start` brings back a program that is down; only a configuration error stays down."""

import os
import signal

import pytest

from monclub.tree.supervisord import alive
from tests.fixtures.waiting import wait_for

pytestmark = pytest.mark.slow
KILLS = 14


def _serving(cli) -> bool:
    return cli.run("seance", "voir", "polar", check=False).returncode == 0


def test_postgres_killed_again_as_soon_as_it_is_back_is_never_given_up_on(daemon_env):
    cli, _ = daemon_env
    cli.run("start")
    cli.run("seance", "creer", "Polar", "--places", "3", "--id", "polar")
    killed: set[int] = set()
    for _ in range(KILLS):
        pid = wait_for(lambda: _fresh_postgres(cli, killed), 30, "postgres started again")
        os.kill(pid, signal.SIGKILL)
        killed.add(pid)
    wait_for(lambda: cli.status()["healthy"], 60, "the tree healthy once the kills stop")
    wait_for(lambda: _serving(cli), 30, "a shard serving again")


def _fresh_postgres(cli, killed: set[int]) -> int | None:
    program = cli.program("postgres")
    assert program["state"] != "fatal", "supervisord gave up on postgres"
    pid = program["pid"]
    return pid if pid and pid not in killed and alive(pid) else None


def test_start_brings_back_a_stopped_program_and_names_a_configuration_error(daemon_env, tmp_path):
    """The tree's programs read the settings file named when it started; this test's status calls
    read a valid copy, so that they can watch the relay fail on the broken one."""
    cli, _ = daemon_env
    settings, valid = tmp_path / "monclub.toml", tmp_path / "valid.toml"
    for path in (settings, valid):
        path.write_text("[prets]\njours = 14\n")
    cli.env["MONCLUB_CONFIG"] = str(settings)
    cli.run("start")
    relay = cli.program("relay")["pid"]
    settings.write_text("[prets]\njours = 0\n")
    os.kill(relay, signal.SIGKILL)
    cli.env["MONCLUB_CONFIG"] = str(valid)
    wait_for(lambda: cli.program("relay")["state"] == "exited", 30, "the relay down on its configuration error")
    cli.env["MONCLUB_CONFIG"] = str(settings)
    refused = cli.run("start", check=False)
    assert refused.returncode == 2 and "prets.jours" in refused.stderr
    settings.write_text("[prets]\njours = 14\n")
    revived = cli.run("start")
    assert "starting again: relay" in revived.stdout
    assert cli.status()["healthy"] and cli.program("relay")["pid"] not in (None, relay)
