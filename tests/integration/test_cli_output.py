"""What the CLI shows, against the whole tree: listings (membres, livres, cancelled séances), the
owner of an aggregate, one convention for words, and `status` that does not count itself."""

import json

from monclub.cluster.partition import partition_of
from tests.fixtures.postgres import add_membres
from tests.fixtures.processes import home_shard


def test_listings_show_membres_livres_and_which_seance_is_cancelled(tree, sql):
    (marie,) = add_membres(sql, 1)
    assert tree.monclub("membre", "liste").stdout == f"{marie:>6}  membre 1\n"
    assert tree.monclub("livre", "liste").stdout.strip() == "no livre yet"
    with tree.client() as client:
        client.creer("polar", "Soirée Polar", places=2, attente=1, tarif=800)
        client.creer("manga", "Club Manga", places=3)
        client.annuler("polar")
        client.ajouter_livre("dune", "Dune")
        client.ajouter_livre("rose", "Le Nom de la rose")
        client.emprunter("dune", marie, 14)
    listed = {s["id"]: s["annulee"] for s in json.loads(tree.monclub("seance", "liste", "--json").stdout)}
    assert listed == {"polar": True, "manga": False}
    text = tree.monclub("seance", "liste").stdout.splitlines()
    assert text[0].startswith("polar") and text[0].endswith("(annulee)")
    assert text[1].startswith("manga") and "annulee" not in text[1]
    livres = {d["id"]: d["emprunteur"] for d in json.loads(tree.monclub("livre", "liste", "--json").stdout)}
    assert livres == {"dune": marie, "rose": None}
    assert [line.split()[:2] for line in tree.monclub("livre", "liste").stdout.splitlines()] == [
        ["dune", "membre"],
        ["rose", "available"],
    ]
    assert json.loads(tree.monclub("membre", "liste", "--json").stdout) == [
        {"id": marie, "nom": "membre 1", "email": None}
    ]


def test_voir_names_the_owner_shard_and_its_pid_as_status_shows_it(tree):
    with tree.client() as client:
        client.creer("polar", "Soirée Polar", places=2)
        client.ajouter_livre("dune", "Dune")
    pids, owners = tree.pids(), {}
    for branch, key, command in (("reunions", "polar", "seance"), ("prets", "dune", "pret")):
        shard = f"{branch}/shard-{home_shard(tree.config, key, branch)}"
        owner = owners[branch] = json.loads(tree.monclub(command, "voir", key, "--json").stdout)["owner"]
        partition = partition_of(key, tree.config.partition_count(branch))
        assert owner == {
            "partition": partition,
            "shard": shard,
            "pid": pids[shard],
            "node": tree.config.node,
            "epoch": 1,
        }
        text = f"owner: {shard} (pid {pids[shard]}) on {tree.config.node}, partition {partition} epoch 1"
        assert text in tree.monclub(command, "voir", key).stdout
    left = json.loads(tree.monclub("seance", "places-restantes", "polar", "--json").stdout)
    assert left == {"places_restantes": 2, "owner": owners["reunions"]}, "a command made from its declaration alone"
    assert tree.monclub("seance", "places-restantes", "polar").stdout.splitlines()[0] == "places_restantes: 2"


def test_one_convention_plurals_and_amounts_with_their_currency(tree, sql):
    a, b = add_membres(sql, 2)
    creer = tree.monclub(
        "seance", "creer", "Soirée Polar", "--places", "1", "--attente", "2", "--tarif", "800", "--id", "polar"
    )
    assert "1 place (1 left)" in creer.stdout and "tarif 8.00 EUR" in creer.stdout
    tree.monclub("inscrire", "polar", str(a))
    assert tree.monclub("inscrire", "polar", str(b)).stdout.strip() == f"membre {b} in attente on polar, position 1"
    raised = tree.monclub("seance", "places", "polar", "2").stdout.strip()
    assert raised == f"polar: 2 places; promoted from attente: membre {b}"
    assert tree.monclub("seance", "places", "polar", "2").stdout.strip() == "polar: 2 places; nobody promoted"
    assert tree.monclub("prets").stdout.strip() == "no pret in progress"
    tree.wait_caught_up()
    lines = tree.monclub("paiements").stdout.splitlines()
    assert len(lines) == 2 and all(line.split()[-3:] == ["8.00", "EUR", "a_regler"] for line in lines)
    paid = json.loads(tree.monclub("paiements", "--json").stdout)[0]
    assert paid["statut"] == "en_attente", "the stored value is unchanged"
    assert (
        tree.monclub("paiement", "regler", str(paid["id"])).stdout.strip() == f"paiement {paid['id']} paye (8.00 EUR)"
    )
    cancelled = tree.monclub("seance", "annuler", "polar").stdout.strip()
    assert cancelled == "polar annulee; notified: 2 inscrits, 0 in attente"


def test_status_does_not_count_its_own_pings_as_handled(tree):
    def handled() -> list[int]:
        reunions = next(p for p in tree.status()["programs"] if p["name"] == "reunions")
        return [shard["handled"] for shard in reunions["children"]]

    first = handled()
    assert handled() == first == [0, 0]
    with tree.client() as client:
        client.creer("polar", "Soirée Polar", places=2)
    assert sum(handled()) == 1
