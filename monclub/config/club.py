"""The club's own section, `[club]`: its time zone, the one the CLI shows the séances' dates in and
reads a date-time typed without offset in, and the members' notifications write dates in. The
wire, the database and every JSON hold instants, which need no zone."""

from datetime import tzinfo
from zoneinfo import ZoneInfo

from monclub.errors import ConfigError


def timezone(value) -> str | None:
    """An IANA name this machine knows (`Europe/Paris`), or None: the machine's own zone."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            ZoneInfo(value)
            return value
        except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError; a path, a ValueError
            pass
    raise ConfigError(
        f'club.timezone = {value!r} is not a time zone this machine knows: give an IANA name like "Europe/Paris"'
    )


def zone(name: str | None) -> tzinfo | None:
    """The time zone of that name, or None for the machine's own (what `datetime.astimezone(None)`
    converts to, as the C library knows it from TZ or /etc/localtime)."""
    return None if name is None else ZoneInfo(name)
