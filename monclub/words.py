"""The CLI's one convention for words (README, "The CLI's words"): sentences in English, the
domain's words in French without accents as in the code and the JSON (membre, seance, inscrit,
attente, livre, pret, paiement, relance, the statut values), counts that agree in number, and
amounts with their currency."""

CURRENCY = "EUR"

# How a payment's statut reads in text. The stored value `en_attente` stays (the database's CHECK,
# the Paiements listener and docs/events.md share it); it reads `a_regler` so that it is not taken
# for the waiting list's attente, and names what `monclub paiement regler` does to it.
PAIEMENT_STATUTS = {"en_attente": "a_regler"}


def montant(centimes: int) -> str:
    """An amount in cents with its currency: 800 -> '8.00 EUR' (exact, no float)."""
    sign = "-" if centimes < 0 else ""
    return f"{sign}{abs(centimes) // 100}.{abs(centimes) % 100:02d} {CURRENCY}"


def compte(n: int, word: str, plural: str | None = None) -> str:
    """'1 place', '2 places', '0 places'."""
    return f"{n} {word if n == 1 else plural or word + 's'}"


def paiement_statut(statut: str) -> str:
    return PAIEMENT_STATUTS.get(statut, statut)
