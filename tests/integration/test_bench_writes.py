"""The benchmark's own SQL writes what MonClub writes (benchmarks/statements.py, the classic
transaction with its outbox event): rows the relay and the listeners read as they read a shard's."""

import uuid

from benchmarks import statements
from benchmarks.breakdown import sibling, writer_of
from benchmarks.load import inscrire_classic
from monclub.contract import protocol
from monclub.db import connect
from monclub.db.outbox import latest_seq, read_events
from monclub.wire import codec as wire
from monclub.wire.stored import empreinte
from tests.fixtures.postgres import add_membres, as_owner

WRITER_COLUMNS = "SELECT type, aggregate, branch, partition, epoch FROM events WHERE seq = %s"


def test_the_classic_with_its_event_appends_the_event_a_shard_appends_and_the_classic_none(reunions, sql, database):
    a, b, c = add_membres(sql, 3)
    with reunions.client() as client:
        client.creer("polar", "Soirée Polar", places=5, attente=0, tarif=800)
        client.creer("noir", "Film noir", places=5, attente=0, tarif=500)
        client.inscrire("polar", a)
    with connect(as_owner(database), autocommit=True) as conn:
        assert inscrire_classic(conn, "noir", b, event=True) is None
        assert inscrire_classic(conn, "noir", c) is None
        assert inscrire_classic(conn, "noir", b, event=True) == "deja_inscrit"
    shard, classic = read_events(sql, 0)[-2:]
    assert classic["seq"] == shard["seq"] + 1 == latest_seq(sql)
    assert (classic["type"], classic["aggregate"]) == (shard["type"], "seance/noir")
    assert classic["payload"] == {"seance": "noir", "membre": b, "titre": "Film noir", "tarif": 500}
    assert classic["payload"].keys() == shard["payload"].keys()
    assert sql.execute("SELECT inscrits FROM seances WHERE id = 'noir'").fetchone()[0] == 2


def test_a_batch_of_one_writes_the_rows_of_a_shards_batch_of_one(reunions, sql):
    a, b = add_membres(sql, 2)
    twin = sibling("polar", reunions.config.partitions)
    with reunions.client() as client:
        client.creer("polar", "Soirée Polar", places=5, attente=0, tarif=800)
        client.creer(twin, "Jumelle", places=5, attente=0, tarif=300)
        client.inscrire("polar", a)
    writer = writer_of(sql, twin, reunions.config.partitions)
    request = protocol.Request(uuid.uuid4().hex, "inscrire", {"seance": twin, "membre": b})
    reply = wire.encode(protocol.ok(request.id, {"statut": "inscrit"}, writer.epoch))
    batch = statements.batch_of_one(
        writer, statements.seance_named(twin, "Jumelle", 300), b, request.id, reply, empreinte(request)
    )
    with sql.pipeline():
        for statement in batch:
            sql.execute(*statement)
    shard, ours = (sql.execute(WRITER_COLUMNS, (event["seq"],)).fetchone() for event in read_events(sql, 0)[-2:])
    assert ours == (shard[0], f"seance/{twin}", "reunions", *shard[3:])
    assert shard[2] == "reunions"
    ours = read_events(sql, 0)[-1]
    assert ours["payload"] == {"seance": twin, "membre": b, "titre": "Jumelle", "tarif": 300}
    stored = sql.execute("SELECT shard, epoch, reply, empreinte FROM requests WHERE id = %s", (request.id,)).fetchone()
    assert (stored[0], stored[1], wire.decode(bytes(stored[2]))["result"], bytes(stored[3])) == (
        writer.shard,
        writer.epoch,
        {"statut": "inscrit"},
        empreinte(request),
    )
    shards = sql.execute("SELECT count(*) FROM requests WHERE empreinte IS NOT NULL AND shard = %s", (writer.shard,))
    assert shards.fetchone()[0] >= 2
    assert sql.execute("SELECT inscrits FROM seances WHERE id = %s", (twin,)).fetchone()[0] == 1


def test_the_ceilings_registrations_write_one_inscription_and_one_numbered_event_each(sql):
    membres = add_membres(sql, 5)
    sql.execute("INSERT INTO seances (id, titre, places, attente_max, tarif) VALUES ('plafond', 'P', 5, 0, 0)")
    with sql.pipeline():
        for statement in statements.registrations(statements.seance_named("plafond", "P", 0), membres):
            sql.execute(*statement)
    events = read_events(sql, 0)
    assert [event["seq"] for event in events] == [1, 2, 3, 4, 5]
    assert [event["payload"]["membre"] for event in events] == membres
    assert sql.execute("SELECT inscrits FROM seances WHERE id = 'plafond'").fetchone()[0] == 5
