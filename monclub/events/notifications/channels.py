"""Where notifications go besides their rows: the bounded message log, always; SMTP when a host
is configured."""

import logging
import smtplib
import time
from email.message import EmailMessage
from pathlib import Path
from typing import BinaryIO

import psycopg

from monclub.config import Config

log = logging.getLogger("monclub.events.notifications")
_BATCH = 100
MESSAGE_LOG = "notifications-messages.log"
MESSAGE_LOG_BYTES = 1024 * 1024
MESSAGE_LOG_BACKUPS = 2


class MessageLog:
    """One line per stored notification, with its text, in log/notifications-messages.log.
    Rotated at `max_bytes` keeping `backups` older files (.1, .2): bounded whatever the rate (a
    chaos drill stores hundreds per second), where the program's own log, which supervisord
    captures, gets no line per notification. Written directly, not through `logging`, whose
    record, formatter and rotating handler (two stat calls a line) cost a tenth of the listener's
    CPU per event."""

    def __init__(self, path: Path, max_bytes: int = MESSAGE_LOG_BYTES, backups: int = MESSAGE_LOG_BACKUPS):
        self.path, self.max_bytes, self.backups = path, max_bytes, backups
        self.file: BinaryIO | None = None
        self.size = 0

    def write(self, seq: int, membre: int, kind: str, message: str) -> None:
        now = time.time()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
        line = f"{stamp},{int(now % 1 * 1000):03d} seq={seq} membre={membre} {kind}: {message}\n".encode()
        if self.file is None:
            self.file = open(self.path, "ab")  # kept open: closed by close() or a rotation
            self.size = self.file.tell()
        if self.size and self.size + len(line) > self.max_bytes:
            self._rotate()
        assert self.file is not None
        self.file.write(line)
        self.file.flush()
        self.size += len(line)

    def _rotate(self) -> None:
        """The current file becomes .1, .1 becomes .2, …; the oldest beyond `backups` is replaced."""
        self.close()
        for index in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{index + 1}"))
        if self.backups:
            self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink(missing_ok=True)
        self.file = open(self.path, "ab")
        self.size = 0

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


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


def message_log_for(config: Config) -> MessageLog:
    return MessageLog(config.log_dir / MESSAGE_LOG)


def channel_for(config: Config) -> SmtpChannel | None:
    return SmtpChannel(config.smtp_host, config.smtp_from) if config.smtp_host else None
