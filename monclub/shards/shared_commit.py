"""One transaction for a batch spread over several partitions of a shard process.

Each partition's owner decides its commands against its own memory, as it would alone. Their
writes then go in one transaction on one owner's session, each part fenced by its own partition's
epoch, the replies and events of all the parts in one statement each
(monclub.shards.store.PostgresStore.write_shared): one commit, one WAL flush, where
one transaction per partition cost PostgreSQL a commit for every two or three commands under a
load spread over many séances. Nothing changes for the partitions themselves: each still has its
owner, session, epoch and lease, and no reply leaves before the commit that holds its command.

How the shared transaction ends decides what each owner does next:
- committed: every owner keeps its states and replies;
- rolled back by a refusal (a part fenced out, a request id already applied, an unknown membre)
  on a session that survives: nothing was committed, so each owner writes its part again on its
  own session, as if the shared attempt had not happened, and handles its own failure as always;
- nothing was committed, but the session did not survive (it had been ended before the batch
  was sent): its owner settles its part as it would alone (`unavailable`), the others write
  theirs again on their own;
- any other failure may have happened at or after the COMMIT: every owner drops its session and
  memory and resolves its commands by request id on a new session, whose epoch bump waits for the
  shared transaction to end (it holds each partition's row FOR SHARE until then).
"""

import psycopg

from monclub.cluster.ownership import FencedOut
from monclub.contract import protocol
from monclub.shards.outcomes import Attempt
from monclub.shards.owner import Decided, Owner
from monclub.shards.store import AlreadyApplied, NotCommitted

ROLLED_BACK = (FencedOut, AlreadyApplied, psycopg.IntegrityError, psycopg.DataError)


def commit_together(runs: list[tuple[Owner, list[protocol.Request]]]) -> list[list[dict | None]]:
    """Each owner's replies to its run of commands (no queries), in the order of `runs`."""
    decided = [owner.decide_commands(requests) for owner, requests in runs]
    writing = [
        (owner, run)
        for (owner, _), run in zip(runs, decided, strict=True)
        if isinstance(run, Decided) and run.batch.writes
    ]
    settled = _write_together(writing) if len(writing) > 1 else {}
    return [
        run
        if not isinstance(run, Decided)
        else owner.conclude_commands(run, settled[owner] if owner in settled else owner.write(run.batch))
        for (owner, _), run in zip(runs, decided, strict=True)
    ]


def _write_together(writing: list[tuple[Owner, Decided]]) -> dict[Owner, Exception | None]:
    """How the shared transaction ended for each owner whose outcome it settles (the others write
    their part again on their own)."""
    attempts: list[tuple[Owner, Decided, Attempt]] = [
        (owner, run, owner.begin_write(run.batch)) for owner, run in writing
    ]
    lead = writing[0][0].store
    assert lead is not None and all(owner.store is not None for owner, _ in writing), "decided on an open session"
    try:
        lead.write_shared([(owner.store, run.batch.writes) for owner, run in writing])
    except (NotCommitted, *ROLLED_BACK) as error:
        if lead.usable:
            _abandon(attempts)
            return {}
        (first, _, attempt), *others = attempts
        _abandon(others)
        return {first: first.write_failed(attempt, error)}
    except psycopg.Error as error:
        return _unknown(attempts, error)
    first, _, sent = attempts[0]
    first.stats.committed(sum(len(run.batch.writes) for _, run, _ in attempts), first.monotonic() - sent.started)
    for owner, run, _ in attempts:
        owner.written(run.batch)
    return dict.fromkeys([owner for owner, _, _ in attempts], None)


def _abandon(attempts: list[tuple[Owner, Decided, Attempt]]) -> None:
    for owner, _, attempt in attempts:
        owner.abandon_write(attempt)


def _unknown(attempts: list[tuple[Owner, Decided, Attempt]], error: Exception) -> dict[Owner, Exception | None]:
    """The shared commit may or may not have happened: every owner's outcome is unknown."""
    for owner, _, _ in attempts:
        owner.forget_all()
    return {owner: owner.write_failed(attempt, error) for owner, _, attempt in attempts}
