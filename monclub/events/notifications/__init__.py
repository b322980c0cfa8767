"""Notifications: one message per member-facing event, stored once whatever redeliveries happen.

Each notification is a row keyed by (event seq, membre), written with the listener's position in
one transaction, then written to the message log (log/notifications-messages.log, rotated: see
channels.py). When an SMTP host is configured (`[notifications] smtp_host`, or MONCLUB_SMTP_HOST)
every stored notification whose member has an email is also delivered, at least once: it is
marked sent only after the server accepted it.
"""

import psycopg

from monclub.config import Config
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
    "pret_en_retard": ("pret_en_retard", "« {titre} » devait être rendu : merci de le rapporter."),
    "relance": ("relance", "Relance n° {numero} : « {titre} » n'est toujours pas rendu."),
}


def recipients(event: dict) -> list[int]:
    payload = event["payload"]
    if event["type"] == "seance_annulee":
        return [*payload["inscrits"], *payload["attente"]]
    return [payload["membre"]] if event["type"] in MESSAGES else []


def message_of(event: dict) -> tuple[str, str]:
    """The notification's kind and text for a member-facing event."""
    kind, template = MESSAGES[event["type"]]
    return kind, template.format(**event["payload"])


class Notifications:
    name = NAME

    def __init__(self, config: Config):
        self.channel = channel_for(config)
        self.messages = message_log_for(config)

    def apply(self, conn: psycopg.Connection, event: dict) -> None:
        membres = recipients(event)
        if not membres:
            return
        kind, message = message_of(event)
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO notifications (event_seq, membre_id, kind, message) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                [(event["seq"], membre, kind, message) for membre in membres],
            )

    def after_commit(self, conn: psycopg.Connection, events: list[dict]) -> None:
        for event in events:
            for membre in recipients(event):
                self.messages.write(event["seq"], membre, *message_of(event))
        if self.channel is not None:
            self.channel.deliver_pending(conn)
