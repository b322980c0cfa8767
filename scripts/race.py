"""Day 1 of the course, on the running MonClub: many people click "register" for the last seat.

Each round, --threads threads released together by a barrier register for a séance of --places
seats, all taken but one. naive: each thread, on its own PostgreSQL connection, reads the seats and
the count, checks there is room, then inserts (tables race_*, without constraints like the app of
day 1; MonClub's own tables would refuse the excess), as the role that owns the schema: the
application's role may not create tables. MonClub: each thread, with its own Client,
sends `inscrire` to the shard that owns the séance and handles its commands one at a time.
Exit 0 when MonClub never overbooked (whatever the naive way did), 1 otherwise.
"""

import argparse
import secrets
import sys
import threading
from collections import Counter

import psycopg

from monclub import config as configuration
from monclub.client.sync import Client
from monclub.errors import ConfigError, MonclubError

NAIVE_TABLES = """
CREATE TABLE IF NOT EXISTS race_seances (id text PRIMARY KEY, places int);
CREATE TABLE IF NOT EXISTS race_inscriptions (seance_id text, membre_id int);
"""
TIMEOUT = 60.0  # seconds: the longest a round may take
# Each naive thread holds a PostgreSQL connection of its own for the whole run. The embedded server
# allows 200 (max_connections), which MonClub's own programs share and a restart briefly doubles:
# half of them leaves room for the tree, and 100 simultaneous clicks are already a crowd.
MAX_THREADS = 100


def not_running(config: configuration.Config) -> str | None:
    """Why the running MonClub cannot be used; None when its database and every shard answer."""
    try:
        with psycopg.connect(config.conninfo(), connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1 FROM membres LIMIT 1")
    except psycopg.Error:
        return "its database does not answer"
    with Client(config, attempt_timeout=0.5, deadline=1.5) as client:
        for shard in range(config.shards):
            try:
                client.ping(shard)
            except MonclubError:
                return f"shard {shard} does not answer"
    return None


def race(threads: int, attempt) -> list[str]:
    """attempt(i) in `threads` threads released together by a barrier; their answers, in order."""
    barrier, answers = threading.Barrier(threads), ["error: no answer"] * threads

    def run(i: int) -> None:
        barrier.wait(timeout=TIMEOUT)
        try:
            answers[i] = attempt(i)
        except (MonclubError, psycopg.Error) as error:  # a refusal (seance_complete) or a failure
            answers[i] = getattr(error, "code", None) or f"error: {type(error).__name__}"

    workers = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=TIMEOUT)
    return answers


def naive_inscrire(conn: psycopg.Connection, seance: str, membre: int) -> str:
    """Check, then write: nothing stops every thread from passing the check before anyone writes."""
    places, taken = conn.execute(
        "SELECT places, (SELECT count(*) FROM race_inscriptions WHERE seance_id = %s) FROM race_seances WHERE id = %s",
        (seance, seance),
    ).fetchone()
    if taken >= places:
        return "complet"
    conn.execute("INSERT INTO race_inscriptions (seance_id, membre_id) VALUES (%s, %s)", (seance, membre))
    return "inscrit"


def naive_rounds(conninfo: str, run: str, args) -> list[int]:
    """The registrations stored after each round, the way of day 1."""
    stored = []
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(NAIVE_TABLES)
        conns: list[psycopg.Connection] = []
        try:
            for _ in range(args.threads):  # one by one, so that those opened are closed if one fails
                conns.append(psycopg.connect(conninfo, autocommit=True, connect_timeout=5))
            for round_ in range(args.rounds):
                seance = f"race-{run}-{round_}"
                admin.execute("INSERT INTO race_seances VALUES (%s, %s)", (seance, args.places))
                for membre in range(1, args.places):  # every seat taken but one
                    admin.execute("INSERT INTO race_inscriptions VALUES (%s, %s)", (seance, membre))
                race(args.threads, lambda i, seance=seance: naive_inscrire(conns[i], seance, args.places + i))
                stored.append(
                    admin.execute("SELECT count(*) FROM race_inscriptions WHERE seance_id = %s", (seance,)).fetchone()[
                        0
                    ]
                )
        finally:
            for conn in conns:
                conn.close()
    return stored


def monclub_rounds(config: configuration.Config, run: str, args) -> tuple[list[int], Counter]:
    """The registrations after each round (the most of those answered and those stored), and
    every answer the racing threads got."""
    answers, registered = Counter(), []
    with psycopg.connect(config.conninfo(), autocommit=True) as conn, Client(config) as client:
        membres = [
            row[0]
            for row in conn.execute(
                "INSERT INTO membres (nom) SELECT %s || n FROM generate_series(1, %s) n RETURNING id",
                (f"race {run} #", args.places - 1 + args.threads),
            ).fetchall()
        ]
        before, racers = membres[: args.places - 1], membres[args.places - 1 :]
        for round_ in range(args.rounds):
            seance = f"race-{run}-{round_}"
            client.creer(seance, "La course à la dernière place", places=args.places, attente=0)
            for membre in before:
                client.inscrire(seance, membre)

            def inscrire(i: int, seance: str = seance) -> str:
                with Client(config) as own:  # a Client is not thread-safe: one per thread
                    return own.inscrire(seance, racers[i])["statut"]

            got = race(args.threads, inscrire)
            answers.update(got)
            stored = conn.execute(
                "SELECT inscrits, (SELECT count(*) FROM inscriptions WHERE seance_id = s.id AND statut = 'inscrit')"
                " FROM seances s WHERE s.id = %s",
                (seance,),
            ).fetchone()
            registered.append(max(len(before) + got.count("inscrit"), *stored))
    return registered, answers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--threads", type=int, default=50, help=f"simultaneous registrations, 2 to {MAX_THREADS} (default 50)"
    )
    parser.add_argument("--rounds", type=int, default=20, help="rounds (default 20)")
    parser.add_argument("--places", type=int, default=3, help="seats of the séance, all taken but one (default 3)")
    args = parser.parse_args()
    if not 2 <= args.threads <= MAX_THREADS or args.rounds < 1 or args.places < 1:
        parser.error(
            f"--threads must be 2 to {MAX_THREADS} (each naive thread holds a PostgreSQL connection, and the "
            "server's max_connections is shared with MonClub), --rounds and --places 1 or more"
        )
    try:
        config = configuration.load()
        why = not_running(config)
    except ConfigError as error:
        print(f"error: config: {error}", file=sys.stderr)
        return 2
    if why:
        print(f"error: MonClub is not running in {config.home} ({why}): run scripts/start", file=sys.stderr)
        return 1
    run = secrets.token_hex(3)
    print(
        f"{args.rounds} rounds of {args.threads} simultaneous registrations for the last of "
        f"{args.places} seats (séances race-{run}-*)"
    )
    try:
        stored = naive_rounds(config.owner_conninfo(), run, args)
    except psycopg.OperationalError as error:
        print(f"error: the naive way could not connect: {str(error).strip().splitlines()[-1]}", file=sys.stderr)
        print(f"  try fewer --threads than {args.threads}, or raise [postgres] max_connections", file=sys.stderr)
        return 1
    naive = [count for count in stored if count > args.places]
    print(
        f"  naive:   overbooked in {len(naive)} of {args.rounds} rounds"
        + (f", worst {max(naive)} registered for {args.places} seats (+{max(naive) - args.places})" if naive else "")
    )
    registered, answers = monclub_rounds(config, run, args)
    print(
        f"  MonClub: at most {max(registered)} registered for {args.places} seats; the racers got "
        + ", ".join(f"{n} {answer}" for answer, n in answers.most_common())
    )
    print()
    print(
        f"Check then write from {args.threads} connections: "
        + (
            f"overbooked in {len(naive)} rounds out of {args.rounds}."
            if naive
            else "not overbooked this time, by luck: nothing prevents it."
        )
    )
    if max(registered) > args.places:
        print(f"MonClub OVERBOOKED: {max(registered)} registered for {args.places} seats. That is a bug.")
        return 1
    print("One process owns the séance and handles one command at a time: MonClub never overbooked.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
