"""/metrics lists every command the op declarations give, at 0, before it is first sent."""

from pathlib import Path

from monclub.config import Config
from monclub.web.metrics import Metrics


def test_every_declared_command_is_counted_from_zero_and_no_query_is():
    metrics = Metrics(Config(home=Path("/nonexistent")))
    samples = {
        (s.labels["branch"], s.labels["op"]): s.value
        for family in metrics.commands.collect()
        for s in family.samples
        if s.name.endswith("_total")
    }
    assert samples[("reunions", "inscrire")] == samples[("prets", "prolonger")] == 0
    assert samples[("accueil", "regler_paiement")] == 0
    assert ("reunions", "etat") not in samples and ("accueil", "membres") not in samples
