"""The daemon's commands while MonClub is stopped, and `drill kill`'s targets: each says what is
wrong and what to do, in one line, with the right error code."""

import json


def test_status_while_stopped_names_the_remedy(daemon_env):
    cli, home = daemon_env
    done = cli.run("status", check=False)
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == f"remedy: MonClub is not running (state in {home}); run: monclub start"
    assert cli.status()["remedies"] == [f"MonClub is not running (state in {home}); run: monclub start"]


def test_drill_kill_refuses_an_unknown_target_and_a_stopped_tree_with_their_codes(daemon_env):
    cli, home = daemon_env
    unknown = cli.run("drill", "kill", "relai", check=False)
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("error: invalid_request: target: no place 'relai' in this tree; places: ")
    assert "prets/shard-1" in unknown.stderr and "reunions/shard-1" in unknown.stderr
    stopped = cli.run("drill", "kill", "relay", check=False)
    assert stopped.returncode == 1
    assert stopped.stderr == f"error: unavailable: MonClub is not running (state in {home}); run: monclub start\n"
    as_json = json.loads(cli.run("drill", "kill", "relay", "--json", check=False).stdout)
    assert as_json["error"]["code"] == "unavailable"


def test_drill_kill_help_lists_every_kind_of_place(daemon_env):
    cli, _ = daemon_env
    shown = " ".join(cli.run("drill", "kill", "--help").stdout.split())
    for place in (
        "supervisord",
        "postgres",
        "bus",
        "relay",
        "reunions/shard-N",
        "prets,",
        "prets/shard-N",
        "paiements",
    ):
        assert place in shown, place


def test_stop_takes_json_and_says_whether_monclub_was_running(daemon_env):
    cli, home = daemon_env
    assert cli.json("stop") == {"ok": True, "home": str(home), "was_running": False}
