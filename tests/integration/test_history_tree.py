"""Every aggregate's history on a whole tree: members created and payments settled leave events with
their request id and node; `monclub history` tells a séance, a copy and a member (across séances and
loans), `--at` replays a past state; the accueil's `history` op and the API page through it; the
export gives every event; `monclub verify` replays every aggregate and finds nothing, then names the
séance and the copy whose rows the database's owner changed by hand."""

import json
from datetime import UTC, datetime

import httpx

from monclub.db.outbox import latest_seq
from monclub.drills.replay_audit import DIFFERS
from tests.fixtures.waiting import wait_for


def _history(tree, *args: str) -> list[dict]:
    return json.loads(tree.monclub("history", *args, "--json").stdout)


def test_a_seance_a_copy_and_a_member_told_replayed_paged_and_exported(web, sql, owner_sql):
    tree, url = web
    marie, paul = (json.loads(tree.monclub("membre", "creer", nom, "--json").stdout)["id"] for nom in ("Marie", "Paul"))
    tree.monclub(
        "seance", "creer", "Soirée Polar", "--places", "1", "--attente", "1", "--tarif", "800", "--id", "polar"
    )
    tree.monclub("inscrire", "polar", str(marie))
    tree.monclub("inscrire", "polar", str(paul))
    between = datetime.now(UTC).isoformat()
    tree.monclub("desinscrire", "polar", str(marie))
    tree.monclub("livre", "ajouter", "Dune", "--id", "dune")
    tree.monclub("pret", "emprunter", "dune", str(paul))
    payment = wait_for(
        lambda: sql.execute("SELECT id FROM paiements WHERE membre_id = %s", (paul,)).fetchone(), 30, "a payment"
    )
    tree.monclub("paiement", "regler", str(payment[0]))

    told = tree.monclub("history", "seance", "polar").stdout
    assert "membre_inscrit Marie (rang 1)" in told and "membre_promu Paul from attente" in told
    seance = _history(tree, "seance", "polar")
    assert [row["type"] for row in seance] == [
        "seance_creee",
        "membre_inscrit",
        "membre_mis_en_attente",
        "membre_desinscrit",
        "membre_promu",
    ]
    assert all(row["request_id"] and row["node"] == tree.config.node and row["epoch"] for row in seance)
    then = json.loads(tree.monclub("history", "seance", "polar", "--at", between, "--json").stdout)
    assert (then["inscrits"], then["attente"]) == ([marie], [paul])

    kinds = [(row["type"], row["aggregate"]) for row in _history(tree, "membre", str(paul))]
    assert kinds == [
        ("membre_cree", f"membre/{paul}"),
        ("membre_mis_en_attente", "seance/polar"),
        ("membre_promu", "seance/polar"),
        ("livre_emprunte", "livre/dune"),
        ("paiement_regle", f"paiement/{payment[0]}"),
    ]
    settled = _history(tree, "membre", str(paul))[-1]
    assert settled["request_id"] and settled["node"] == tree.config.node and settled["epoch"] is None

    pages, apres = [], None
    with tree.client() as client:
        while True:
            page = client.accueil("history", aggregate="seance/polar", apres=apres, limite=2)
            pages.append([row["seq"] for row in page["history"]])
            if (apres := page["suivant"]) is None:
                break
    assert [seq for page in pages for seq in page] == [row["seq"] for row in seance] and len(pages) == 3

    with httpx.Client(base_url=url, timeout=20) as http:
        first = http.get("/api/livres/dune/history", params={"limite": 1}).json()
        assert [row["type"] for row in first["history"]] == ["livre_ajoute"] and first["suivant"]
        after = http.get("/api/livres/dune/history", params={"apres": first["suivant"]}).json()
        assert [row["type"] for row in after["history"]] == ["livre_emprunte"] and after["suivant"] is None
        assert http.get("/api/seances/polar/history", params={"at": between}).json()["inscrits"] == [marie]
        for at, status in [("hier", 422), ("2026-12-10T19:00:00", 422), ("2001-01-01T00:00:00Z", 404)]:
            assert http.get("/api/seances/polar/history", params={"at": at}).status_code == status, at

    lines = tree.monclub("export", "events", "--since", "1").stdout.splitlines()
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, latest_seq(sql) + 1))
    assert tree.monclub("export", "events", "--since", between).stdout.count("\n") < len(lines)
    assert tree.monclub("verify").stdout.strip() == "verify: no violation"

    # Replay as an audit: a row changed behind the shards' back, as the database's owner (the
    # programs' role may not), is named by `monclub verify` with the field that differs.
    owner_sql.execute("UPDATE seances SET titre = 'Soirée Jazz' WHERE id = 'polar'")
    owner_sql.execute("UPDATE livres SET prolonge = true WHERE id = 'dune'")
    verified = tree.monclub("verify", check=False)
    assert verified.returncode == 1, verified.stdout
    assert verified.stdout.splitlines() == [
        f"{DIFFERS}: livre/dune, prolonge: True != False",
        f"{DIFFERS}: seance/polar, titre: 'Soirée Jazz' != 'Soirée Polar'",
    ], "no other rule of verify sees these"
