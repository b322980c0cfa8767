"""Keeping the password of a database URL out of logs, errors and output.

libpq echoes a malformed connection string in some of its errors, and psycopg passes them on:
every text that may carry one goes through `redact` before anyone sees it.
"""

import re
from urllib.parse import unquote

_URL_PASSWORD = re.compile(r"^[a-z]+://[^:/@?]*:([^@/?]*)@")
_KEYWORD_PASSWORD = re.compile(r"\bpassword\s*=\s*('(?:\\.|[^'\\])*'|[^\s&]+)")
MASK = "***"


def passwords_of(conninfo: str) -> list[str]:
    """The password of `conninfo` in every spelling an error may echo, longest first."""
    spellings = set()
    for pattern in (_URL_PASSWORD, _KEYWORD_PASSWORD):
        for found in pattern.finditer(conninfo):
            raw = found.group(1)
            spellings |= {raw, raw.strip("'"), unquote(raw)}
    return sorted((s for s in spellings if s), key=len, reverse=True)


def redact(text: str, conninfo: str) -> str:
    """`text` with every occurrence of the password of `conninfo` masked."""
    for password in passwords_of(conninfo):
        text = text.replace(password, MASK)
    return text
