"""The archive on a real database: its monthly partitions and default partition, the relay's copy
of the outbox, replay as an audit naming a row corrupted by hand, `[history] keep` dropping old
months after a snapshot, and the export's stream."""

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import sql as q
from psycopg.conninfo import make_conninfo

from monclub.cluster import ownership
from monclub.db import connect, history
from monclub.db.migrate import migrate, migrations
from monclub.drills import replay_audit
from monclub.events.archive import archive, maintain
from monclub.history.replay import state_then
from tests.fixtures.postgres import add_membres, as_owner

ARCHIVE = 23  # the archive's migration


def _relay(sql) -> tuple[str, int, int]:
    """The fence of a relay that holds the lease."""
    return ("relay", 0, ownership.take(sql, "relay", 0, "relay", "node-a"))


def _archived(sql) -> int:
    position, _ = archive(sql, _relay(sql))
    return position


def _months_ahead(months: int) -> str:
    now = datetime.now(UTC)
    year, month = divmod(now.month - 1 + months, 12)
    return f"{now.year + year}_{month + 1:02d}"


def _partition_of(sql, aggregate: str) -> list[str]:
    rows = sql.execute("SELECT DISTINCT tableoid::regclass::text FROM history WHERE aggregate = %s", (aggregate,))
    return [name for (name,) in rows.fetchall()]


def test_this_month_and_the_next_two_have_partitions_and_the_default_takes_the_rest_until_its_month_is_made(sql):
    partitions = {
        name
        for (name,) in sql.execute(
            "SELECT c.relname FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid"
            " WHERE h.inhparent = 'history'::regclass"
        ).fetchall()
    }
    assert partitions == {"history_default", *(f"history_{_months_ahead(n)}" for n in range(3))}
    sql.execute(
        "INSERT INTO history (seq, type, aggregate, at, payload)"
        " VALUES (1, 'test', 'x/later', now() + interval '5 months', '{}')"
    )
    assert _partition_of(sql, "x/later") == ["history_default"], "no insert fails for lack of a partition"
    assert sql.execute("SELECT monclub_history_months(6)").fetchone() == (4,)
    assert _partition_of(sql, "x/later") == [f"history_{_months_ahead(5)}"], "moved to its month once made"
    assert sql.execute("SELECT monclub_history_months(6)").fetchone() == (0,)


def test_replay_matches_the_stored_rows_and_names_a_row_corrupted_by_hand(reunions, sql, owner_sql):
    a, b, c = add_membres(sql, 3)
    with reunions.client() as client:
        client.creer("polar", "Soirée Polar", places=2, attente=2, tarif=800, quand="2026-12-10T19:00:00+01:00")
        for membre in (a, b, c):
            client.inscrire("polar", membre)
        client.desinscrire("polar", a)
        client.call("deplacer", "polar", quand="2026-12-11T19:30:00.25+01:00")
        client.creer("slam", "Slam", places=1)
    told = [row["type"] for row in history.page(sql, "seance/polar", None, None, None)]
    archived = sql.execute("SELECT count(*) FROM history WHERE aggregate = 'seance/polar'").fetchone()
    assert (len(told), archived) == (7, (0,)), "the command's transaction writes the outbox, not the archive"
    _archived(sql)
    moved = history.page(sql, "seance/polar", None, None, None)[-1]
    assert (moved["type"], moved["payload"]["quand"]) == ("seance_deplacee", "2026-12-11T18:30:00.250000Z")
    assert replay_audit.violations(sql) == [], "the date replayed as the database stores it"
    owner_sql.execute("UPDATE seances SET places = 9 WHERE id = 'polar'")
    owner_sql.execute("INSERT INTO seances (id, titre, places, attente_max, tarif) VALUES ('hors', 'H', 1, 0, 0)")
    assert replay_audit.violations(sql) == [
        f"{replay_audit.UNARCHIVED}: seance/hors",
        f"{replay_audit.DIFFERS}: seance/polar, places: 9 != 2",
        f"{replay_audit.DIFFERS}: seance/polar, places_restantes: 7 != 0",
    ]


def test_keep_drops_the_old_months_after_a_snapshot_and_replay_still_matches(reunions, sql, owner_sql):
    a, b = add_membres(sql, 2)
    with reunions.client() as client:
        client.creer("polar", "Soirée Polar", places=1, attente=1)
        client.inscrire("polar", a)
        client.inscrire("polar", b)
    _archived(sql)
    owner_sql.execute(
        "CREATE TABLE history_2001_01 PARTITION OF history FOR VALUES FROM ('2001-01-01 UTC') TO ('2001-02-01 UTC')"
    )
    owner_sql.execute("UPDATE history SET at = '2001-01-15 UTC' WHERE type = 'seance_creee'")
    owner_sql.execute("UPDATE history SET at = '2001-03-15 UTC' WHERE type <> 'seance_creee'")  # the default's
    assert maintain(sql, _relay(sql), keep=1) == (0, 1), "the relay's daily pass: one month dropped, none to make"
    assert sql.execute("SELECT to_regclass('history_2001_01')").fetchone() == (None,)
    rows = history.page(sql, "seance/polar", None, None, None)
    assert [(row["type"], row["payload"]["inscrits"]) for row in rows] == [("snapshot", [a])]
    assert replay_audit.violations(sql) == [], "replay starts from the snapshot"
    with reunions.client() as client:
        client.desinscrire("polar", a)
    _archived(sql)
    assert [row["type"] for row in history.page(sql, "seance/polar", None, None, None)] == [
        "snapshot",
        "membre_desinscrit",
        "membre_promu",
    ]
    assert replay_audit.violations(sql) == []
    assert sql.execute("SELECT monclub_history_keep(1)").fetchone() == (0,), "nothing older: no second snapshot"


def test_the_relays_copy_moves_the_position_by_batches_and_a_stale_epoch_copies_nothing(sql):
    start = sql.execute("SELECT seq FROM history_position").fetchone()[0]
    sql.execute(
        "WITH taken AS (UPDATE outbox_sequence SET seq = seq + 5 RETURNING seq)"
        " INSERT INTO events (seq, type, aggregate, payload) SELECT seq - 5 + n, 'test', 'x/' || n, '{}'"
        " FROM taken, generate_series(1, 5) n"
    )
    fence = _relay(sql)
    assert archive(sql, fence, batch=3) == (start + 3, 3)
    stale = (*fence[:2], fence[2] - 1)
    with pytest.raises(psycopg.DatabaseError) as refused:
        archive(sql, stale, batch=3)
    assert refused.value.sqlstate == ownership.FENCED
    assert sql.execute("SELECT seq FROM history_position").fetchone() == (start + 3,), "the position unmoved"
    assert sql.execute("SELECT count(*) FROM history WHERE seq > %s", (start + 3,)).fetchone() == (0,)
    assert archive(sql, fence, batch=3) == (start + 5, 2)
    assert archive(sql, fence, batch=3) == (start + 5, 0), "nothing new: nothing copied, the position kept"


def test_the_export_streams_from_a_seq_or_a_time_through_a_server_side_cursor(sql, database):
    sql.execute(
        "WITH taken AS (UPDATE outbox_sequence SET seq = seq + 5000 RETURNING seq)"
        " INSERT INTO events (seq, type, aggregate, payload) SELECT n, 'test', 'x/' || n, '{}'"
        " FROM taken, generate_series(1, 5000) n"
    )
    _archived(sql)
    exported = (json.loads(line) for line in history.exported(sql, 4001, None))
    first = next(exported)
    assert sql.execute("SELECT count(*) FROM pg_cursors WHERE name = 'monclub_export'").fetchone() == (1,)
    assert [first["seq"], *(event["seq"] for event in exported)] == list(range(4001, 5001))
    assert set(first) == set(history.FIELDS.split(", "))
    later = datetime.now(UTC).isoformat()
    assert list(history.exported(sql, None, later)) == []

    # `monclub export events | head -1`: the reader leaves, the export stops at its next write,
    # quietly (click's own handling of EPIPE: exit 1, nothing on stderr).
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MONCLUB_")}, "MONCLUB_DATABASE_URL": database}
    command = [sys.executable, "-m", "monclub", "export", "events", "--since", "1"]
    export = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert json.loads(export.stdout.readline())["seq"] == 1
    export.stdout.close()
    _, errors = export.communicate(timeout=30)
    assert (export.returncode, errors) == (1, b""), "no traceback when the reader stops"


def test_the_archive_starts_from_the_outbox_and_a_snapshot_of_every_aggregate(owner_sql, database):
    """A club of the version before the archive, whose séance's events were pruned long ago: its
    migration snapshots every séance and copy, so that each replays, and the audit finds nothing."""
    name, role = f"h_{uuid.uuid4().hex[:10]}", f"app_{uuid.uuid4().hex[:10]}"
    owner_sql.execute(q.SQL("CREATE DATABASE {} TEMPLATE template0").format(q.Identifier(name)))
    try:
        with connect(make_conninfo(as_owner(database), dbname=name), autocommit=True) as old:
            with old.transaction():
                old.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL)")
                for version, filename, text in (m for m in migrations() if m[0] < ARCHIVE):
                    old.execute(text)
                    old.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (version, filename))
            a, b, c = add_membres(old, 3)
            old.execute(
                "INSERT INTO seances (id, titre, places, attente_max, tarif, quand)"
                " VALUES ('ancienne', 'Ancienne', 2, 1, 500, '2026-12-10 19:00:00.5+01')"
            )
            old.cursor().executemany(
                "INSERT INTO inscriptions (seance_id, membre_id, statut) VALUES ('ancienne', %s, %s)",
                [(a, "inscrit"), (b, "inscrit"), (c, "attente")],
            )
            old.execute("INSERT INTO livres (id, titre, shard) VALUES ('dune', 'Dune', 0)")
            assert f"{ARCHIVE:03d}_history.sql" in migrate(old, role)
            snapshots = old.execute(
                "SELECT aggregate, payload ->> 'quand', seq = (SELECT seq FROM outbox_sequence) FROM history"
                " WHERE type = 'snapshot' ORDER BY aggregate"
            ).fetchall()
            assert snapshots == [("livre/dune", None, True), ("seance/ancienne", "2026-12-10T18:00:00.500000Z", True)]
            assert replay_audit.violations(old) == [], "every aggregate replays from its snapshot"
            replayed = state_then(old, "seance/ancienne", datetime.now(UTC))
            assert (replayed["inscrits"], replayed["attente"]) == ([a, b], [c])
    finally:
        owner_sql.execute(q.SQL("DROP DATABASE {} WITH (FORCE)").format(q.Identifier(name)))
        owner_sql.execute(q.SQL("DROP ROLE IF EXISTS {}").format(q.Identifier(role)))
