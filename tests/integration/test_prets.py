"""Loans on the whole tree: one borrower at a time, reminders exactly once through kills and
outages, and a séance branch that serves on while the loan branch is being killed."""

import random
import threading
import time
import uuid

import pytest

from monclub.cluster.partition import partition_of
from monclub.contract import protocol
from monclub.errors import MonclubError, Refus
from monclub.supervision.rpc import rpc
from monclub.wire import codec as wire
from tests.fixtures.postgres import add_membres
from tests.fixtures.processes import home_shard
from tests.fixtures.tree import with_settings
from tests.fixtures.waiting import wait_for

FAST = "[prets]\nshards = 2\njour_seconds = 1\njours = 1\nrelance_seconds = 1\nrelances_max = 3\n"


@pytest.fixture
def fast_tree(start_tree, state_dirs):
    return with_settings(start_tree, state_dirs(), FAST)


def reminders(sql, livre: str) -> list[tuple]:
    return sql.execute(
        "SELECT type, (payload->>'numero')::int FROM events WHERE aggregate = %s"
        " AND type IN ('pret_en_retard', 'relance') ORDER BY seq",
        (f"livre/{livre}",),
    ).fetchall()


COMPLETE = [("pret_en_retard", None), ("relance", 1), ("relance", 2), ("relance", 3)]


def test_many_members_borrowing_one_copy_at_once_make_exactly_one_loan(fast_tree, sql):
    membres = add_membres(sql, 20)
    with fast_tree.client() as client:
        client.ajouter_livre("dune", "Dune")
    outcomes = {}
    barrier = threading.Barrier(len(membres))

    def borrow(membre):
        barrier.wait(timeout=30)
        with fast_tree.client() as client:
            try:
                outcomes[membre] = client.emprunter("dune", membre, 5)["statut"]
            except Refus as refus:
                outcomes[membre] = refus.code

    threads = [threading.Thread(target=borrow, args=(m,)) for m in membres]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes.values()) == ["deja_emprunte"] * 19 + ["emprunte"]
    assert sql.execute("SELECT count(*) FROM prets WHERE livre_id = 'dune' AND rendu_le IS NULL").fetchone() == (1,)


@pytest.mark.slow
def test_the_loan_rules_through_the_cli(fast_tree, sql):
    a, b = add_membres(sql, 2)
    cli = fast_tree.monclub
    cli("livre", "ajouter", "Le Nom de la Rose", "--id", "rose")
    cli("pret", "emprunter", "rose", str(a), "--jours", "30")
    for args, code in [
        (("pret", "emprunter", "rose", str(b)), "deja_emprunte"),
        (("pret", "retourner", "rose", str(b)), "non_emprunteur"),
        (("pret", "voir", "nulle-part"), "livre_inconnu"),
    ]:
        refused = cli(*args, check=False)
        assert refused.returncode == 1 and refused.stderr.startswith(f"error: {code}: "), refused.stderr
    cli("pret", "prolonger", "rose", str(a))
    assert "deja_prolonge" in cli("pret", "prolonger", "rose", str(a), check=False).stderr
    assert cli("prets", "--json").stdout.count('"livre": "rose"') == 1
    cli("pret", "retourner", "rose", str(a))
    assert "non_emprunte" in cli("pret", "retourner", "rose", str(a), check=False).stderr
    assert cli("verify").returncode == 0


def test_reminders_fire_in_order_exactly_once_and_reach_the_borrower(fast_tree, sql):
    (membre,) = add_membres(sql, 1)
    with fast_tree.client() as client:
        client.ajouter_livre("dune", "Dune")
        client.emprunter("dune", membre, 1)
    wait_for(lambda: len(reminders(sql, "dune")) == 4, 30, "every reminder")
    fast_tree.wait_caught_up()
    assert reminders(sql, "dune") == COMPLETE
    rows = sql.execute("SELECT kind FROM notifications WHERE membre_id = %s ORDER BY event_seq", (membre,))
    kinds = [k for (k,) in rows]
    assert kinds == ["pret_en_retard", "relance", "relance", "relance"]
    causes = sql.execute(
        "SELECT type, request_id IS NULL, node FROM history WHERE aggregate = 'livre/dune' ORDER BY seq"
    )
    node = fast_tree.config.node
    assert causes.fetchall() == [("livre_ajoute", False, node), ("livre_emprunte", False, node)] + [
        (kind, True, node) for kind, _ in COMPLETE
    ], "a timer's event has no request id; each is archived with its node"
    with fast_tree.client() as client:
        with pytest.raises(Refus) as overdue:
            client.prolonger("dune", membre)
        assert overdue.value.code == "en_retard"
        assert client.retourner("dune", membre) == {"statut": "retourne", "en_retard": True}


@pytest.mark.slow
def test_repeated_kills_of_loan_shards_lose_no_reminder_and_fire_none_twice(fast_tree, sql):
    membres = add_membres(sql, 6)
    livres = [f"livre-{i}" for i in range(6)]
    with fast_tree.client() as client:
        for livre, membre in zip(livres, membres, strict=True):
            client.ajouter_livre(livre, livre)
            client.emprunter(livre, membre, 1)
    rng = random.Random(4)
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        place = rng.choice(["prets/shard-0", "prets/shard-1", "prets"])
        if fast_tree.pids().get(place):
            fast_tree.kill(place)
        wait_for(lambda place=place: fast_tree.pids().get(place), 30, f"{place} back")
    wait_for(lambda: all(len(reminders(sql, livre)) >= 4 for livre in livres), 60, "every reminder")
    fast_tree.wait_healthy()
    for livre in livres:
        assert reminders(sql, livre) == COMPLETE, livre
    assert fast_tree.monclub("verify").returncode == 0


@pytest.mark.slow
def test_after_an_outage_a_loan_that_missed_several_intervals_gets_one_relance(start_tree, state_dirs, sql):
    tree = with_settings(start_tree, state_dirs(), FAST.replace("relances_max = 3", "relances_max = 5"))
    (membre,) = add_membres(sql, 1)
    with tree.client() as client:
        client.ajouter_livre("dune", "Dune")
        client.emprunter("dune", membre, 1)
    wait_for(lambda: reminders(sql, "dune") == [("pret_en_retard", None)], 30, "the loan to fall overdue")
    with rpc(tree.config) as proxy:
        proxy.supervisor.stopProcess("prets")
    down_until = time.monotonic() + 3.5
    wait_for(lambda: time.monotonic() > down_until, 10, "three intervals to pass with the branch down")
    assert reminders(sql, "dune") == [("pret_en_retard", None)]
    with rpc(tree.config) as proxy:
        proxy.supervisor.startProcess("prets")
    wait_for(lambda: len(reminders(sql, "dune")) >= 3, 30, "two relances after the restart")
    times = [
        t
        for (t,) in sql.execute("SELECT extract(epoch FROM at)::float8 FROM events WHERE type = 'relance' ORDER BY seq")
    ]
    assert times[1] - times[0] >= 0.9, "one relance on restart, then the interval: no burst"


@pytest.mark.slow
def test_the_seance_branch_answers_while_the_loan_branch_is_killed_in_a_loop(fast_tree, sql):
    membres = add_membres(sql, 30)
    with fast_tree.client() as client:
        client.creer("polar", "Soirée Polar", places=30)
    stop = threading.Event()
    kills = []

    def kill_loop():
        while not stop.is_set():
            pid = fast_tree.pids().get("prets")
            if pid:
                fast_tree.kill("prets")
                kills.append(pid)
            stop.wait(0.3)

    killer = threading.Thread(target=kill_loop)
    killer.start()
    answered = 0
    try:
        with fast_tree.client(attempt_timeout=0.5, deadline=2.0) as client:
            deadline = time.monotonic() + 60
            while len(kills) < 5 and time.monotonic() < deadline:
                membre = membres[answered % len(membres)]
                assert client.inscrire("polar", membre)["statut"] == "inscrit"
                assert client.desinscrire("polar", membre)["statut"] == "desinscrit"
                answered += 1
    except MonclubError as error:
        pytest.fail(f"the séance branch stopped answering after {answered} rounds: {error}")
    finally:
        stop.set()
        killer.join()
    assert len(kills) >= 5 and answered > 10


def test_a_loan_query_refused_by_its_owner_carries_its_epoch_as_a_command_refused_does(tree, sql):
    """docs/protocol.md §6: `livre_inconnu` from `etat` carries the epoch, as from `retourner`:
    every reply the owner of a partition decides does."""
    (membre,) = add_membres(sql, 1)
    config = tree.config
    endpoint = config.endpoint("prets", home_shard(config, "ghost", "prets"))
    partition = partition_of("ghost", config.pret_partitions)

    def send(op: str, **fields) -> dict | None:
        request_id = uuid.uuid4().hex
        with tree.client() as client:
            return client._attempt(endpoint, wire.encode(protocol.request(request_id, op, **fields)), request_id, 5.0)

    tree.wait_healthy()
    etat = send("etat", livre="ghost")
    retourner = send("retourner", livre="ghost", membre=membre)
    epoch = sql.execute("SELECT epoch FROM partitions WHERE branch = 'prets' AND partition = %s", (partition,))
    owned_at = epoch.fetchone()[0]
    for reply in (etat, retourner):
        assert reply is not None and reply["error"]["code"] == "livre_inconnu", reply
        assert reply["epoch"] == owned_at, reply
