"""One transaction for a batch spread over several partitions of a shard process.

Each partition's owner decides its commands against its own memory, as it would alone. Their
writes then go in one transaction on one owner's session, each part fenced by its own partition's
epoch, the replies and events of all the parts in one statement each
(monclub.shards.store.PostgresStore.write_shared): one commit, one WAL flush, where
one transaction per partition cost PostgreSQL a commit for every two or three commands under a
load spread over many séances. Nothing changes for the partitions themselves: each still has its
owner, session, epoch and lease, and no reply leaves before the commit that holds its command.

Each owner sees two calls: `decide`, then `conclude` with how the shared transaction ended for
its part (`Ended`), or with nothing when it was not written for it:
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

import time

import psycopg

from monclub.cluster.ownership import FencedOut
from monclub.contract import protocol
from monclub.shards.outcomes import COMMITTED, Decided, Ended
from monclub.shards.owner import Owner
from monclub.shards.store import AlreadyApplied, NotCommitted

ROLLED_BACK = (FencedOut, AlreadyApplied, psycopg.IntegrityError, psycopg.DataError)


def commit_together(runs: list[tuple[Owner, list[protocol.Request]]]) -> list[list[dict | None]]:
    """Each owner's replies to its run of commands (no queries), in the order of `runs`."""
    decided = [owner.decide(requests) for owner, requests in runs]
    writing = [
        (owner, run)
        for (owner, _), run in zip(runs, decided, strict=True)
        if isinstance(run, Decided) and run.batch.writes
    ]
    ended = _write_together(writing) if len(writing) > 1 else {}
    return [
        owner.conclude(run, ended.get(owner)) if isinstance(run, Decided) else run
        for (owner, _), run in zip(runs, decided, strict=True)
    ]


def _write_together(writing: list[tuple[Owner, Decided]]) -> dict[Owner, Ended]:
    """How the shared transaction ended for each owner whose outcome it settles (the others write
    their part again on their own)."""
    lead = writing[0][1].store
    started = time.monotonic()
    try:
        lead.write_shared([(run.store, run.batch.writes) for _, run in writing])
    except (NotCommitted, *ROLLED_BACK) as error:
        return {} if lead.usable else {writing[0][0]: Ended(error)}
    except psycopg.Error as error:
        return {owner: Ended(error, unknown=True) for owner, _ in writing}
    writing[0][0].stats.committed(sum(len(run.batch.writes) for _, run in writing), time.monotonic() - started)
    return dict.fromkeys([owner for owner, _ in writing], COMMITTED)
