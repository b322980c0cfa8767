"""When séances take place, as people see and type them: in the club's time zone (`[club]
timezone`, else the machine's), where the wire and every JSON carry RFC 3339 instants in UTC
(monclub.contract.protocol.quand). A date-time typed without offset is the club's local time: an
organiser types the time on the poster, and the CLI and the pages know the zone."""

import re
from datetime import datetime, tzinfo

JOURS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WITHOUT_OFFSET = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?")


def local(quand: str, zone: tzinfo | None) -> datetime:
    """The instant `quand` (RFC 3339) in `zone` (None: the machine's)."""
    return datetime.fromisoformat(quand).astimezone(zone)


def heure(quand: str | None, zone: tzinfo | None) -> str:
    """`Thu 2026-12-10 19:00` in `zone`; `-` for a séance without a date."""
    if quand is None:
        return "-"
    moment = local(quand, zone)
    return f"{JOURS[moment.weekday()]} {moment:%Y-%m-%d %H:%M}"


def zone_name(zone: tzinfo | None) -> str:
    """`Europe/Paris`, or the machine's zone as the C library names it (`UTC`, `CET`)."""
    return getattr(zone, "key", None) or str(datetime.now().astimezone().tzname())


def with_offset(text: str, zone: tzinfo | None) -> str:
    """A date-time typed without offset (`2026-12-10T19:00`, seconds optional) with the offset
    `zone` has then; anything else as it was typed, for the wire's check to accept or name."""
    if not _WITHOUT_OFFSET.fullmatch(text):
        return text
    try:
        typed = datetime.fromisoformat(text.upper().replace(" ", "T"))
    except ValueError:
        return text
    return (typed.astimezone() if zone is None else typed.replace(tzinfo=zone)).isoformat()


def ordered(seances: list[dict], zone: tzinfo | None, now: datetime) -> list[dict]:
    """The séances as an organiser reads them: today's and those to come first, soonest first
    (tonight's at the top, even once it has begun), then those without a date in their order,
    then the past ones, latest first; each with `passee`, whether its day is over in `zone`."""
    today = now.astimezone(zone).date()
    dated = sorted((s for s in seances if s["quand"] is not None), key=lambda s: local(s["quand"], zone))
    past = [s for s in dated if local(s["quand"], zone).date() < today]
    coming = [s for s in dated if local(s["quand"], zone).date() >= today]
    undated = [s for s in seances if s["quand"] is None]
    return [{**s, "passee": False} for s in coming + undated] + [{**s, "passee": True} for s in reversed(past)]
