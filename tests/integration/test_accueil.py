"""The accueil over the wire: membres created exactly once by request id, listings page by page,
payments settled, and bad input refused with the field named (docs/protocol.md, section 14)."""

import json
import subprocess
import sys
import uuid

import psycopg.sql
import pytest

from monclub.accueil.ops import PAGE_MAX
from monclub.db import connect
from monclub.errors import InvalidField
from monclub.events.paiements import Paiements
from monclub.wire import codec as wire
from tests.fixtures.postgres import add_membres, apply_effects, as_owner, private_cluster
from tests.fixtures.services import client_of
from tests.fixtures.waiting import wait_for


def _request(op: str, **fields) -> tuple[str, bytes]:
    request_id = uuid.uuid4().hex
    return request_id, wire.encode({"v": 1, "id": request_id, "op": op, **fields})


def _rows(sql, query: str, *params) -> list[tuple]:
    return sql.execute(query, params).fetchall()


def test_ping_names_the_service_and_its_process(accueil):
    assert accueil.call("ping")["result"] == {"service": "accueil", "pid": accueil.process.pid, "handled": 0}


def test_the_directory_of_either_branch_is_read_from_the_accueil_too(accueil, sql, owner_sql):
    sql.execute(
        "INSERT INTO partitions (branch, partition, epoch, owner, owner_pid, owner_host, endpoint, lease_until)"
        " VALUES ('prets', 3, 2, 'prets/shard-1', 77, 'b', 'tcp://127.0.0.1:7201', now() + interval '1 minute')"
    )
    owner_sql.execute("INSERT INTO meta (key, value) VALUES ('prets_partitions', '8') ON CONFLICT (key) DO NOTHING")
    result = accueil.call("directory", branch="prets")["result"]
    assert result["branch"] == "prets" and result["partitions"] == 8
    (owner,) = result["owners"]
    assert {k: owner[k] for k in ("partition", "endpoint", "node", "pid", "shard", "epoch")} == {
        "partition": 3,
        "endpoint": "tcp://127.0.0.1:7201",
        "node": "b",
        "pid": 77,
        "shard": "prets/shard-1",
        "epoch": 2,
    }
    assert 0 < owner["lease_left"] <= 60


def test_creer_membre_is_applied_once_and_a_resend_gets_the_same_bytes(accueil, sql):
    request_id, payload = _request("creer_membre", nom="Marie", email="marie@example.org")
    first = accueil.raw(payload)
    again = accueil.raw(payload)
    assert again == first
    reply = wire.decode(first)
    membre = reply["result"]["membre"]
    assert reply["ok"] and reply["id"] == request_id
    assert membre == {"id": membre["id"], "nom": "Marie", "email": "marie@example.org"}
    assert _rows(sql, "SELECT id, nom, email FROM membres") == [(membre["id"], "Marie", "marie@example.org")]
    assert _rows(sql, "SELECT shard FROM requests WHERE id = %s", request_id) == [("accueil",)]


def test_a_request_id_sent_again_with_another_request_is_refused_and_nothing_is_applied(accueil, sql):
    request_id, payload = _request("creer_membre", nom="Marie", email=None)
    first = accueil.raw(payload)
    other = wire.encode({"v": 1, "id": request_id, "op": "creer_membre", "nom": "Paul", "email": None})
    assert wire.decode(accueil.raw(other))["error"]["code"] == "request_id_reused"
    assert accueil.raw(payload) == first
    assert _rows(sql, "SELECT nom, email FROM membres") == [("Marie", None)]


def test_membres_are_read_page_by_page_in_id_order(accueil, sql):
    ids = add_membres(sql, 5)
    pages, apres = [], None
    while True:
        result = accueil.call("membres", apres=apres, limite=2)["result"]
        pages.append([row["id"] for row in result["membres"]])
        apres = result["suivant"]
        if apres is None:
            break
    assert pages == [ids[0:2], ids[2:4], ids[4:5]]
    assert accueil.call("membres", apres=ids[-1], limite=PAGE_MAX)["result"] == {"membres": [], "suivant": None}


def test_an_exact_last_page_says_so_without_an_empty_page_after_it(accueil, sql):
    ids = add_membres(sql, 2)
    assert accueil.call("membres", apres=None, limite=2)["result"]["suivant"] is None
    assert accueil.call("membres", apres=None, limite=1)["result"]["suivant"] == ids[0]


def _seance(sql, seance: str, tarif: int = 800) -> None:
    sql.execute(
        "INSERT INTO seances (id, titre, places, attente_max, tarif) VALUES (%s, %s, 2, 0, %s)",
        (seance, f"Séance {seance}", tarif),
    )


def _paye(sql, seance: str, membre: int, seq: int) -> int:
    """An inscription and the payment the Paiements listener makes of its event."""
    sql.execute("INSERT INTO inscriptions (seance_id, membre_id, statut) VALUES (%s, %s, 'inscrit')", (seance, membre))
    event = {"seq": seq, "type": "membre_inscrit", "payload": {"seance": seance, "membre": membre, "tarif": 800}}
    apply_effects(sql, Paiements(), event)
    return sql.execute("SELECT id FROM paiements WHERE event_seq = %s", (seq,)).fetchone()[0]


def test_regler_paiement_settles_once_and_its_refusals_are_stored_under_their_ids(accueil, sql):
    (membre,) = add_membres(sql, 1)
    _seance(sql, "polar")
    paiement = _paye(sql, "polar", membre, 1)
    request_id, payload = _request("regler_paiement", paiement=paiement)
    settled = wire.decode(accueil.raw(payload))
    assert settled["result"] == {
        "paiement": {"id": paiement, "seance": "polar", "membre": membre, "montant": 800, "statut": "paye"}
    }
    assert wire.decode(accueil.raw(payload)) == settled
    clos = accueil.call("regler_paiement", paiement=paiement)
    assert clos["error"] == {"code": "paiement_clos", "message": f"paiement {paiement} is paye, not en_attente"}
    inconnu_id, inconnu = _request("regler_paiement", paiement=paiement + 1000)
    refused = accueil.raw(inconnu)
    assert wire.decode(refused)["error"]["code"] == "paiement_inconnu"
    assert _rows(sql, "SELECT reply FROM requests WHERE id = %s", inconnu_id) == [(refused,)]


def test_every_listing_of_the_cli_is_read_over_the_wire(accueil, sql):
    a, b = add_membres(sql, 2)
    _seance(sql, "polar")
    _seance(sql, "manga", tarif=0)
    paiement = _paye(sql, "polar", a, 1)
    with sql.transaction():  # a borrower and the open loan, together (migration 006)
        sql.execute(
            "INSERT INTO livres (id, titre, shard, emprunteur, echeance) VALUES"
            " ('dune', 'Dune', 0, NULL, NULL), ('rose', 'La Rose', 1, %s, '2001-01-01')",
            (b,),
        )
        sql.execute("INSERT INTO prets (livre_id, membre_id, echeance) VALUES ('rose', %s, '2001-01-01')", (b,))
    sql.execute(
        "INSERT INTO notifications (event_seq, membre_id, kind, message) VALUES (1, %s, 'inscrit', 'Bonjour')", (a,)
    )

    def rows(op: str, **fields) -> list[dict]:
        return accueil.call(op, apres=None, limite=PAGE_MAX, **fields)["result"][op]

    assert [s["id"] for s in rows("seances")] == ["polar", "manga"]
    assert [livre["id"] for livre in rows("livres")] == ["dune", "rose"]
    assert [p["livre"] for p in rows("prets", en_retard=True)] == ["rose"]
    assert [p["id"] for p in rows("paiements", seance="polar")] == [paiement]
    assert rows("paiements", seance="manga") == []
    assert [n["message"] for n in rows("notifications", membre=a)] == ["Bonjour"]
    assert rows("notifications", membre=b) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"op": "membres", "apres": None}, "op 'membres' needs field 'limite'"),
        ({"op": "membres", "apres": None, "limite": 0}, f"field 'limite' must be an integer from 1 to {PAGE_MAX}"),
        ({"op": "membres", "apres": "1", "limite": 1}, "field 'apres' must be an integer from 1 to"),
        ({"op": "prets", "en_retard": 1, "apres": None, "limite": 1}, "field 'en_retard' must be true or false"),
        ({"op": "creer_membre", "nom": "Marie"}, "op 'creer_membre' needs field 'email'"),
        ({"op": "creer_membre", "nom": "Marie", "email": "pas une adresse"}, "field 'email' must be an address"),
        ({"op": "creer_membre", "nom": "\t", "email": None}, "field 'nom' must be a non-empty printable string"),
        ({"op": "regler_paiement", "paiement": 0}, "field 'paiement' must be an integer from 1"),
        ({"op": "directory", "branch": "clubs"}, "field 'branch' must be one of reunions, prets"),
        (
            {"op": "inscrire", "seance": "polar", "membre": 1},
            "field 'op' must be one of creer_membre, directory, history, livres, membres, notifications, paiements, "
            "ping, prets, regler_paiement, seances",
        ),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(accueil, sql, fields, message):
    reply = accueil.call(fields.pop("op"), **fields)
    assert reply["error"]["code"] == "invalid_request"
    assert reply["error"]["message"].startswith(message)
    assert _rows(sql, "SELECT count(*) FROM membres UNION ALL SELECT count(*) FROM requests") == [(0,), (0,)]


def test_the_client_checks_before_sending_and_reads_the_replies(accueil, sql):
    with client_of(accueil) as client:
        with pytest.raises(InvalidField) as refused:
            client.accueil("membres", apres=None, limite=PAGE_MAX + 1)
        created = client.accueil("creer_membre", nom="Zoé", email=None)["membre"]
        assert client.accueil("membres", apres=None, limite=1) == {"membres": [created], "suivant": None}
    assert refused.value.field == "limite"


def test_a_creer_membre_while_the_database_is_down_is_unavailable_then_applied_once_when_it_is_back(start_service):
    """The session dies before the COMMIT: nothing can have been committed, so the answer is
    `unavailable` at once (silence is for a session lost during its COMMIT)."""
    with private_cluster() as server:
        conninfo = server.cluster.conninfo()
        accueil = start_service("accueil", on=conninfo)
        assert accueil.call("membres", apres=None, limite=1)["ok"]
        server.stop()
        _, payload = _request("creer_membre", nom="Marie", email=None)
        for _ in range(2):
            assert wire.decode(accueil.raw(payload))["error"]["code"] == "unavailable"
        down = accueil.call("membres", apres=None, limite=1)["error"]
        assert down == {"code": "unavailable", "message": "database unreachable; nothing was committed"}
        server.start()
        pid = accueil.process.pid
        replies = [wire.decode(accueil.raw(payload)) for _ in range(2)]
        assert replies[0]["ok"] and replies[1] == replies[0]
        with connect(conninfo, autocommit=True) as conn:
            assert conn.execute("SELECT nom FROM membres").fetchall() == [("Marie",)]
        assert accueil.process.pid == pid and accueil.process.poll() is None


def test_the_accueil_and_the_replay_come_back_after_kill_9_and_a_resend_gets_the_stored_reply(tree, sql):
    with tree.client() as client:
        request_id = uuid.uuid4().hex
        created = client.accueil("creer_membre", request_id, nom="Marie", email=None)
        for place in ("accueil", "replay"):
            old = tree.kill(place)
            wait_for(lambda p=place, o=old: tree.pids().get(p) not in (None, o), 30, f"{place} to come back")
        assert client.accueil("creer_membre", request_id, nom="Marie", email=None) == created
    assert _rows(sql, "SELECT count(*) FROM membres") == [(1,)]
    assert tree.status()["healthy"]


def _waiting_on_a_lock(sql, query: str) -> bool:
    """Whether a session of this database waits on a lock in `query` (the accueil's, here)."""
    found = sql.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND query = %s",
        (query,),
    ).fetchone()
    return found[0] > 0


def test_a_cli_membre_creer_in_flight_through_a_kill_9_of_the_accueil_is_applied_once(
    start_tree, sql, owner_sql, tmp_path
):
    """The accueil is killed while the CLI's creer_membre is in its COMMIT (held there by a test
    trigger, and the server told not to look for gone clients), so the change commits and its reply
    is lost with the process: the CLI resends the same request id to the restarted accueil, which
    answers the stored reply. A new id on the resend would create a second membre."""
    database = owner_sql.execute("SELECT current_database()").fetchone()[0]
    owner_sql.execute(
        psycopg.sql.SQL("ALTER DATABASE {} SET client_connection_check_interval = 0").format(
            psycopg.sql.Identifier(database)
        )
    )
    owner_sql.execute("CREATE TABLE hold_commit ()")
    owner_sql.execute("GRANT SELECT ON hold_commit TO PUBLIC")
    owner_sql.execute(
        "CREATE FUNCTION hold_commit() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN PERFORM FROM hold_commit; RETURN NULL; END $$"
    )
    owner_sql.execute(
        "CREATE CONSTRAINT TRIGGER hold_commit AFTER INSERT ON requests DEFERRABLE INITIALLY DEFERRED"
        " FOR EACH ROW WHEN (NEW.shard = 'accueil') EXECUTE FUNCTION hold_commit()"
    )
    tree = start_tree()
    config = tmp_path / "client.toml"
    config.write_text("[client]\nattempt_timeout = 1.0\ndeadline = 60\n")
    with connect(as_owner(tree.database)) as holder:  # a transaction, held until the rollback
        holder.execute("LOCK TABLE hold_commit IN ACCESS EXCLUSIVE MODE")
        cli = subprocess.Popen(
            [sys.executable, "-m", "monclub", "membre", "creer", "Marie", "--json"],
            env={**tree.env, "MONCLUB_CONFIG": str(config)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for(lambda: _waiting_on_a_lock(sql, "COMMIT"), 60, "the accueil's COMMIT to wait on the test's lock")
            assert cli.poll() is None, "the CLI has no answer yet"
            old = tree.kill("accueil")
            wait_for(lambda: tree.pids().get("accueil") not in (None, old), 30, "the accueil to come back")
            holder.rollback()
            out, err = cli.communicate(timeout=90)
        finally:
            if cli.poll() is None:
                cli.kill()
                cli.communicate()
    assert cli.returncode == 0, err
    created = json.loads(out)
    assert created == {"id": created["id"], "nom": "Marie", "email": None}
    assert _rows(sql, "SELECT id, nom FROM membres") == [(created["id"], "Marie")]
    assert _rows(sql, "SELECT count(*) FROM requests WHERE shard = 'accueil'") == [(1,)]
    assert tree.status()["healthy"]
