"""Notifications: one message per member-facing event, stored once whatever redeliveries happen.

Each notification is a row keyed by (event seq, membre), written with the listener's position in
one transaction, then written to the message log (log/notifications-messages.log, rotated: see
channels.py). When an SMTP host is configured (`[notifications] smtp_host`, or MONCLUB_SMTP_HOST)
every stored notification whose member has an email is also delivered, at least once: it is
marked sent only after the server accepted it.
"""

from datetime import datetime, tzinfo

import psycopg

from monclub.config import Config
from monclub.db.pipeline import Statement
from monclub.events.notifications.channels import channel_for, message_log_for

NAME = "notifications"

MESSAGES = {
    "membre_inscrit": ("inscrit", "Vous êtes inscrit(e) à « {titre} »."),
    "membre_mis_en_attente": (
        "en_attente",
        "« {titre} » est complète : vous êtes en liste d'attente, position {position}.",
    ),
    "membre_promu": ("promu", "Une place s'est libérée : vous êtes inscrit(e) à « {titre} »."),
    "membre_desinscrit": ("desinscrit", "Vous êtes désinscrit(e) de « {titre} »."),
    "seance_annulee": ("seance_annulee", "« {titre} » est annulée."),
    "seance_deplacee": ("seance_deplacee", "« {titre} » est déplacée au {quand}."),
    "pret_en_retard": ("pret_en_retard", "« {titre} » devait être rendu : merci de le rapporter."),
    "relance": ("relance", "Relance n° {numero} : « {titre} » n'est toujours pas rendu."),
}


JOURS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MOIS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
# The events that name everyone registered or waiting, each of whom is told.
TO_EVERYONE = ("seance_annulee", "seance_deplacee")
# One statement for any number of recipients.
_STORE = (
    "INSERT INTO notifications (event_seq, membre_id, kind, message)"
    " SELECT %s, membre, %s, %s FROM unnest(%s::bigint[]) AS membre ON CONFLICT DO NOTHING"
)


def recipients(event: dict) -> list[int]:
    payload = event["payload"]
    if event["type"] in TO_EVERYONE:
        return [*payload["inscrits"], *payload["attente"]]
    return [payload["membre"]] if event["type"] in MESSAGES else []


def date(quand: str, zone: tzinfo | None) -> str:
    """An instant as a member reads it, in the club's time zone: `jeudi 10 décembre 2026 à 19 h 00`
    (and `1er` for the first of the month), the same words whatever the machine's locale."""
    moment = datetime.fromisoformat(quand).astimezone(zone)
    day = "1er" if moment.day == 1 else str(moment.day)
    return f"{JOURS[moment.weekday()]} {day} {MOIS[moment.month - 1]} {moment.year} à {moment:%H} h {moment:%M}"


def message_of(event: dict, zone: tzinfo | None) -> tuple[str, str]:
    """The notification's kind and text for a member-facing event, its date in `zone`."""
    kind, template = MESSAGES[event["type"]]
    payload = event["payload"]
    dates = {"quand": date(payload["quand"], zone)} if payload.get("quand") else {}
    return kind, template.format(**{**payload, **dates})


class Notifications:
    name = NAME

    def __init__(self, config: Config):
        self.channel = channel_for(config)
        self.messages = message_log_for(config)
        self.zone = config.zone

    def statements(self, event: dict) -> list[Statement]:
        membres = recipients(event)
        if not membres:
            return []
        kind, message = message_of(event, self.zone)
        return [(_STORE, (event["seq"], kind, message, membres))]

    def after_commit(self, conn: psycopg.Connection, events: list[dict]) -> None:
        for event in events:
            for membre in recipients(event):
                self.messages.write(event["seq"], membre, *message_of(event, self.zone))
        if self.channel is not None:
            self.channel.deliver_pending(conn)
