"""The ids a client makes up for what it creates without one: a séance's or a copy's id from its
titre (the CLI and the web program alike)."""

import re
import secrets
import unicodedata


def slug(titre: str, suffix: str | None = None) -> str:
    """An id from a titre: its words, then `suffix` (random when not given)."""
    ascii_only = unicodedata.normalize("NFKD", titre).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_only.lower()).strip("-")[:40]
    return f"{words or 'seance'}-{suffix or secrets.token_hex(2)}"
