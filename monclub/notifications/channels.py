"""Delivery channels for notifications. None by default; SMTP when a host is configured."""

import logging
import smtplib
from email.message import EmailMessage

import psycopg

from monclub.config import Config

log = logging.getLogger("monclub.notifications")
_BATCH = 100


class SmtpChannel:
    def __init__(self, host: str, sender: str):
        self.host, _, port = host.partition(":")
        self.port = int(port or 25)
        self.sender = sender

    def deliver_pending(self, conn: psycopg.Connection) -> int:
        """Send what is stored and not yet sent; mark each one sent after the server took it."""
        pending = conn.execute(
            "SELECT n.id, m.email, n.message FROM notifications n JOIN membres m ON m.id = n.membre_id"
            " WHERE n.envoye_le IS NULL AND m.email IS NOT NULL ORDER BY n.id LIMIT %s",
            (_BATCH,),
        ).fetchall()
        if not pending:
            return 0
        try:
            with smtplib.SMTP(self.host, self.port, timeout=5) as smtp:
                for notification, email, text in pending:
                    message = EmailMessage()
                    message["From"], message["To"], message["Subject"] = self.sender, email, "MonClub"
                    message.set_content(text)
                    smtp.send_message(message)
                    conn.execute("UPDATE notifications SET envoye_le = now() WHERE id = %s", (notification,))
        except (OSError, smtplib.SMTPException) as error:
            log.warning("SMTP delivery to %s:%d failed (%s); will retry", self.host, self.port, error)
        return len(pending)


def channel_for(config: Config) -> SmtpChannel | None:
    return SmtpChannel(config.smtp_host, config.smtp_from) if config.smtp_host else None
