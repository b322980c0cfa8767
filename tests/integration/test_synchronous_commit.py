"""What synchronous replication protects, shown on a real primary and standby (tests/fixtures/replicas.py).

- A COMMIT whose wait for the standby is cancelled returns with PostgreSQL's WARNING "canceling
  wait for synchronous replication … already committed locally": MonClub (a shard's owner, the
  accueil) must take it for an unknown outcome, answer nothing until the standby has it, then
  answer the stored reply once. Only the transactions that write the table of the call, or an
  epoch, wait for the standby there (a test trigger sets synchronous_commit on for them, the
  database's default being local): held, every commit would wait, a lease renewal first, and the
  call's own COMMIT would never be reached.
- The protection itself, deterministically: the standby's WAL receiver held (SIGSTOP), a
  registration committed through MonClub, the primary killed, what the receiver held dropped,
  the standby promoted. Asynchronous (a test-only setting), the registration was acknowledged and
  is gone; synchronous, it was never acknowledged, and its outcome is resolved on the new primary.
"""

import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator

import pytest

from monclub.db import connect
from tests.fixtures.postgres import add_membres, as_owner
from tests.fixtures.processes import Reunions, launch
from tests.fixtures.replicas import Pair, primary_and_standby
from tests.fixtures.services import shard_and_accueil
from tests.fixtures.waiting import wait_for

# Two PostgreSQL servers of their own, and MonClub programs started by hand.
pytestmark = [pytest.mark.pg, pytest.mark.daemon]

DEADLINE = 120.0  # the client's: it resends the same request id until then
WAITING = "SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep'"
SELECTIVE = """
ALTER DATABASE monclub SET synchronous_commit = local;
CREATE FUNCTION test_wait_for_standby() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM set_config('synchronous_commit', 'on', true); RETURN NULL; END $$;
""" + "".join(
    f"CREATE TRIGGER test_wait_for_standby AFTER INSERT ON {table} "
    "FOR EACH STATEMENT EXECUTE FUNCTION test_wait_for_standby();\n"
    for table in ("inscriptions", "membres", "epochs")
)


class Call:
    """A client call in a thread of its own: its reply, or its error, once it ends."""

    def __init__(self, call: Callable[[], dict]):
        self.outcome: dict = {}
        self.thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self.thread.start()

    def _run(self, call: Callable[[], dict]) -> None:
        try:
            self.outcome["reply"] = call()
        except Exception as error:  # noqa: BLE001 - the test reads it
            self.outcome["error"] = error

    @property
    def ended(self) -> bool:
        return bool(self.outcome)

    def result(self, timeout: float = DEADLINE) -> dict:
        self.thread.join(timeout)
        assert self.ended, f"the call did not end within {timeout}s"
        assert "error" not in self.outcome, f"the call failed: {self.outcome['error']!r}"
        return self.outcome["reply"]


def _membres(pair: Pair, count: int) -> list[int]:
    with connect(as_owner(pair.url()), autocommit=True) as conn:
        return add_membres(conn, count)


def _registered(pair: Pair, server: str = "standby") -> list[int]:
    rows = getattr(pair, server).sql("SELECT membre_id FROM inscriptions WHERE seance_id = 'polar' ORDER BY rang")
    return [row[0] for row in rows]


def _backends(pair: Pair) -> set[int]:
    return {row[0] for row in pair.primary.sql("SELECT pid FROM pg_stat_activity")}


def _cancelled_then_resolved(pair: Pair, call: Callable[[], dict]) -> dict:
    """`call` under a held WAL receiver: its COMMIT waits for the standby; that wait cancelled
    (pg_cancel_backend), the server warns and reports the COMMIT done. The program must drop that
    session and answer nothing (taken for a success, the reply would come at once); the receiver
    let go, the client's resend gets the reply."""
    pair.hold_receiver()
    pending = Call(call)
    ((backend,),) = wait_for(lambda: pair.primary.sql(WAITING), 30, "the COMMIT to wait for the standby")
    pair.primary.sql(f"SELECT pg_cancel_backend({backend})")
    wait_for(lambda: pending.ended or backend not in _backends(pair), 30, "a reply, or the session dropped")
    assert not pending.ended, f"a commit the standby never confirmed was acknowledged: {pending.outcome}"
    pair.standby.thaw()
    return pending.result()


def test_a_commit_whose_wait_for_the_standby_is_cancelled_is_an_unknown_outcome_resolved_by_id(state_dir):
    with primary_and_standby() as pair:
        with connect(as_owner(pair.url()), autocommit=True) as conn:
            conn.execute(SELECTIVE)
        with shard_and_accueil(state_dir, pair.url()) as (reunions, accueil):
            (membre,) = _membres(pair, 1)
            with reunions.client() as client:
                client.creer("polar", "Soirée Polar", places=10)

            def register() -> dict:
                with reunions.client(deadline=DEADLINE) as client:
                    return client.inscrire("polar", membre)

            assert _cancelled_then_resolved(pair, register) == {"statut": "inscrit"}
            assert _registered(pair) == _registered(pair, "primary") == [membre], "once, on both servers"

            def create() -> dict:
                with reunions.client(deadline=DEADLINE) as client:
                    return client.accueil("creer_membre", request_id=uuid.uuid4().hex, nom="Marie", email=None)

            created = _cancelled_then_resolved(pair, create)
            assert pair.standby.sql("SELECT id FROM membres WHERE nom = 'Marie'") == [(created["membre"]["id"],)]


def _failover_under_a_held_receiver(pair: Pair, reunions: Reunions, synchronous: bool) -> tuple[Call, list[int]]:
    """One registration acknowledged and replicated; the receiver held; a second registration
    sent (acknowledged at once when asynchronous); the primary killed, what the receiver held
    dropped, the standby promoted. The second call, and the membres."""
    first, second = _membres(pair, 2)
    with reunions.client() as client:
        client.creer("polar", "Soirée Polar", places=10)
        assert client.inscrire("polar", first) == {"statut": "inscrit"}
    wait_for(lambda: not pair.receiver_held_back(), 30, "the standby to have the first registration")
    pair.hold_receiver()

    def register() -> dict:
        with reunions.client(deadline=DEADLINE) as client:
            return client.inscrire("polar", second)

    pending = Call(register)
    if synchronous:
        wait_for(lambda: pair.primary.sql(WAITING), 30, "the COMMIT to wait for the standby")
        assert not pending.ended, "acknowledged before the standby had it"
    else:
        assert pending.result() == {"statut": "inscrit"}
    assert pair.receiver_held_back(), "the standby has not written the second registration"
    pair.primary.kill()
    pair.drop_received()
    assert _registered(pair) == [first], "the standby never got the second registration"
    pair.promote()
    return pending, [first, second]


@contextlib.contextmanager
def _failover(state_dir, synchronous: bool) -> Iterator[tuple[Pair, Call, list[int]]]:
    """A shard on a primary and its standby, through _failover_under_a_held_receiver: the pair,
    the second call, and the membres."""
    with primary_and_standby(synchronous=synchronous) as pair:
        reunions = launch(state_dir, pair.url(), shards=1)
        try:
            reunions.wait_ready()
            yield (pair, *_failover_under_a_held_receiver(pair, reunions, synchronous))
        finally:
            reunions.stop()


def test_asynchronous_replication_loses_an_acknowledged_registration_in_a_failover(state_dir):
    with _failover(state_dir, synchronous=False) as (pair, pending, (first, second)):
        assert pending.result() == {"statut": "inscrit"}, "acknowledged before the failover"
        assert _registered(pair) == [first], "the acknowledged registration is gone from the new primary"


def test_synchronous_replication_never_acknowledges_what_a_failover_loses(state_dir):
    with _failover(state_dir, synchronous=True) as (pair, pending, (first, second)):
        # Resolved on the new primary: nothing stored under its id, so the resend registers it.
        assert pending.result() == {"statut": "inscrit"}
        assert _registered(pair) == [first, second], "every acknowledged registration, once"
