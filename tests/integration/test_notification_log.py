"""The notifications' log stays bounded: a chaos drill stores hundreds of notifications a second,
and the program's own log (captured by supervisord) grew by megabytes a minute, one line each."""

import logging
import time

from monclub import config as configuration
from monclub.events.notifications import Notifications
from monclub.events.notifications.channels import MESSAGE_LOG, MESSAGE_LOG_BACKUPS, MESSAGE_LOG_BYTES

NOTIFICATIONS = 40_000
BATCH = 100


def _events(count: int) -> list[dict]:
    titre = "Soirée Polar — lecture à voix haute, suivie d'une discussion"
    return [
        {"seq": seq, "type": "membre_inscrit", "payload": {"seance": "polar", "membre": seq % 97, "titre": titre}}
        for seq in range(1, count + 1)
    ]


def test_a_flood_of_notifications_leaves_the_program_log_alone_and_the_message_log_bounded(tmp_path, caplog):
    config = configuration.load({"MONCLUB_HOME": str(tmp_path / "home")})
    config.prepare_dirs()
    effects = Notifications(config)
    events = _events(NOTIFICATIONS)
    started = time.monotonic()
    with caplog.at_level(logging.DEBUG):
        for start in range(0, len(events), BATCH):
            effects.after_commit(None, events[start : start + BATCH])  # type: ignore[arg-type]
    assert time.monotonic() - started < 30, "hard deadline"
    program_log = sum(len(record.getMessage()) for record in caplog.records)
    assert program_log < 1000, f"{len(caplog.records)} lines in the program's log for {NOTIFICATIONS} notifications"
    effects.messages.close()
    files = sorted(config.log_dir.glob(f"{MESSAGE_LOG}*"))
    assert len(files) == 1 + MESSAGE_LOG_BACKUPS, files
    total = sum(path.stat().st_size for path in files)
    assert total <= (1 + MESSAGE_LOG_BACKUPS) * MESSAGE_LOG_BYTES, f"{total} bytes"
    newest = (config.log_dir / MESSAGE_LOG).read_text(encoding="utf-8").splitlines()[-1]
    assert f"seq={NOTIFICATIONS} membre={NOTIFICATIONS % 97} inscrit: Vous êtes inscrit(e) à « Soirée Polar" in newest
