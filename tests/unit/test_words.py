"""The CLI's one convention for words: counts that agree, amounts with their currency, and the
payment statut that no longer reads like the waiting list."""

from monclub.tree import supervisord as tree
from monclub.words import compte, montant, paiement_statut


def test_amounts_show_their_currency_exactly():
    assert montant(800) == "8.00 EUR"
    assert montant(5) == "0.05 EUR"
    assert montant(100_000_000) == "1000000.00 EUR"


def test_counts_agree_in_number():
    assert [compte(n, "place") for n in (0, 1, 2)] == ["0 places", "1 place", "2 places"]
    assert compte(1, "inscrit") == "1 inscrit" and compte(3, "relance") == "3 relances"


def test_a_pending_payment_reads_a_regler_the_others_as_stored():
    assert paiement_statut("en_attente") == "a_regler"
    assert [paiement_statut(s) for s in ("paye", "annule", "a_rembourser")] == ["paye", "annule", "a_rembourser"]


def test_exits_read_alike_for_programs_and_shards_and_meaningful_statuses_are_explained():
    assert tree.describe_cause("relay", "terminated by SIGKILL") == "killed by SIGKILL"
    assert tree.describe_cause("reunions", "exit status 78") == "exit 78 (configuration error)"
    assert tree.describe_cause("prets", "exit status 1") == "exit 1 (restart intensity exceeded)"
    assert tree.describe_cause("relay", "exit status 1") == "exit 1"
    assert tree.describe_cause("relay", None) is None
