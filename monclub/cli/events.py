"""monclub events tail | paiements | notifications | verify, and the text of `paiement regler`."""

import json
import time

import click
import zmq

from monclub.cli.common import emit, fail, handled, json_option, load_config, on_database, read_session
from monclub.contract import protocol
from monclub.db import connect, reads
from monclub.db.outbox import latest_seq, read_events
from monclub.drills import audit
from monclub.errors import InvalidField
from monclub.events.bus import endpoints
from monclub.words import montant, paiement_statut

MAX_WAIT = 3600


def _print_event(event: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(event, ensure_ascii=False))
    else:
        click.echo(
            f"{event['seq']:>8}  {event['at']}  {event['type']:<22} {event['aggregate']:<24} "
            f"{json.dumps(event['payload'], ensure_ascii=False)}"
        )


@click.group()
def events():
    """Domain events."""


@events.command("tail")
@click.option("--from", "start", type=int, default=None, help="Replay from this sequence number (default: live only).")
@json_option
@handled
def events_tail(start: int | None, as_json: bool):
    """Print events as they are committed (replaying from --from first), until interrupted."""
    if start is not None:
        protocol.row_id("from", start)
    config = load_config()
    subscriber: zmq.Socket = zmq.Context.instance().socket(zmq.SUB)
    subscriber.linger = 0
    subscriber.subscribe(b"event")
    subscriber.connect(endpoints(config)[1])
    with read_session(config.conninfo()) as conn:
        last = latest_seq(conn) if start is None else start - 1
        try:
            while True:
                for event in read_events(conn, last):
                    _print_event(event, as_json)
                    last = event["seq"]
                if subscriber.poll(1000):
                    subscriber.recv_multipart()
        except KeyboardInterrupt:
            pass
        finally:
            subscriber.close(linger=0)


@click.group()
def paiement():
    """One payment."""


@click.command()
@click.option("--seance", default=None)
@json_option
@handled
def paiements(seance: str | None, as_json: bool):
    """List payments (what the Paiements listener did)."""
    if seance is not None:
        protocol.seance_id("seance", seance)
    data = on_database(reads.paiements, seance)
    text = "\n".join(
        f"{d['id']:>6}  {d['seance']:<24} membre {d['membre']:<6} {montant(d['montant']):>14}  "
        f"{paiement_statut(d['statut'])}"
        for d in data
    )
    emit(as_json, data, text or "no paiement")


@click.command()
@click.option("--membre", type=int, default=None)
@json_option
@handled
def notifications(membre: int | None, as_json: bool):
    """List notifications (what the Notifications listener did)."""
    if membre is not None:
        protocol.membre_id("membre", membre)
    data = on_database(reads.notifications, membre)
    emit(
        as_json,
        data,
        "\n".join(f"{d['id']:>6}  membre {d['membre']:<6} {d['message']}" for d in data) or "no notification",
    )


@click.command()
@click.option(
    "--wait",
    type=float,
    default=10.0,
    show_default=True,
    help="Seconds to wait for the listeners to catch up before auditing.",
)
@json_option
@handled
def verify(wait: float, as_json: bool):
    """Audit the database; exit 1 listing every violation."""
    if not 0 <= wait <= MAX_WAIT:
        raise InvalidField("wait", f"must be a number of seconds from 0 to {MAX_WAIT}")
    with connect(load_config().conninfo(), autocommit=True) as conn:
        deadline = time.monotonic() + wait
        while not reads.caught_up(conn) and time.monotonic() < deadline:
            time.sleep(0.1)
        found = audit.violations(conn)
    if as_json:
        click.echo(json.dumps({"ok": not found, "violations": found}, ensure_ascii=False))
    else:
        click.echo("\n".join(found) if found else "verify: no violation")
    if found:
        fail(f"{len(found)} violation(s)", 1)


COMMANDS = (events, paiement, paiements, notifications, verify)
