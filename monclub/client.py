"""The MonClub client: Lazy Pirate over REQ sockets (the zguide's reliable request-reply).

Each call gets one request id, kept on every retry, so a request that was in flight during a
kill -9 is applied at most once and its caller still gets the one answer. An attempt that gets no
reply within `attempt_timeout` closes its socket (a REQ socket is stuck after a lost reply, and a
late reply must never be taken for a newer request's) and resends on a new one, after a jittered
exponential backoff; `unavailable` replies are retried the same way. Past `deadline` the call
raises Timeout (no answer: outcome unknown) or Unavailable (nothing was committed).

A request is checked by its shard's own op table before it is sent (InvalidField), and before the
first attempt and after each unanswered one, monclub.reach tells whether anything listens or will
again: when nothing will (MonClub stopped), the call fails at once instead of at its deadline.

Routing: the request goes to the partition of its aggregate, first to the shard process of this
configuration that hosts it (monclub.partition.host_of); a `wrong_owner` reply names the owner the
directory knows, which the client remembers and resends to at once (same request id); an owner
that leaves an attempt unanswered is forgotten with every other owner on its node (the node may be
gone), so the next attempt asks again.

Not thread-safe: one Client per thread.
"""

import itertools
import random
import time
import uuid
from dataclasses import dataclass

import zmq

from monclub import config as configuration
from monclub import curve, protocol, reach, wire
from monclub.accueil.ops import OPS as ACCUEIL_OPS
from monclub.errors import InvalidRequest, MonclubError, Refus, Timeout, Unavailable
from monclub.partition import host_of, partition_of
from monclub.prets.ops import OPS as PRETS_OPS
from monclub.reunions.ops import OPS as REUNIONS_OPS

_BACKOFF_BASE = 0.02
_BACKOFF_MAX = 0.5
_REDIRECTS_MAX = 8
_DOMAIN_CODES = {
    "seance_complete",
    "deja_inscrit",
    "non_inscrit",
    "seance_inconnue",
    "seance_existe",
    "membre_inconnu",
    "places_insuffisantes",
    "seance_annulee",
    "livre_inconnu",
    "livre_existe",
    "deja_emprunte",
    "non_emprunte",
    "non_emprunteur",
    "deja_prolonge",
    "en_retard",
}


def new_request_id() -> str:
    return uuid.uuid4().hex


def error_from(code: str, message: str) -> MonclubError:
    if code in _DOMAIN_CODES:
        return Refus(message, code)
    if code == "invalid_request":
        return InvalidRequest(message)
    if code == "unavailable":
        return Unavailable(message)
    return MonclubError(message, code)


def probe(config: configuration.Config, shard: int, branch: str = "reunions", timeout: float = 0.3) -> dict | None:
    """A shard's ping answer ({shard, pid, loaded, handled}) within `timeout`, or None."""
    try:
        with Client(config, attempt_timeout=timeout, deadline=timeout) as client:
            return client.ping(shard, branch)
    except MonclubError:
        return None


class Client:
    def __init__(
        self,
        config: configuration.Config | None = None,
        *,
        attempt_timeout: float | None = None,
        deadline: float | None = None,
    ):
        self.config = config or configuration.load()
        self.attempt_timeout = attempt_timeout or self.config.attempt_timeout
        self.deadline = deadline or self.config.deadline
        self.context: zmq.Context = zmq.Context.instance()
        self.sockets: dict[str, zmq.Socket] = {}
        self.owners: dict[tuple[str, int], str] = {}
        self.retries = 0
        self.redirects = 0

    def close(self) -> None:
        for socket in self.sockets.values():
            socket.close(linger=0)
        self.sockets.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def creer(self, seance: str, titre: str, places: int, attente: int = 0, tarif: int = 0, **kw) -> dict:
        return self.call("creer", seance, titre=titre, places=places, attente=attente, tarif=tarif, **kw)

    def inscrire(self, seance: str, membre: int, **kw) -> dict:
        return self.call("inscrire", seance, membre=membre, **kw)

    def desinscrire(self, seance: str, membre: int, **kw) -> dict:
        return self.call("desinscrire", seance, membre=membre, **kw)

    def changer_places(self, seance: str, places: int, **kw) -> dict:
        return self.call("changer_places", seance, places=places, **kw)

    def annuler(self, seance: str, **kw) -> dict:
        return self.call("annuler", seance, **kw)

    def etat(self, seance: str) -> dict:
        return self.call("etat", seance)

    def ajouter_livre(self, livre: str, titre: str, **kw) -> dict:
        return self.pret("ajouter", livre, titre=titre, **kw)

    def emprunter(self, livre: str, membre: int, jours: int, **kw) -> dict:
        return self.pret("emprunter", livre, membre=membre, jours=jours, **kw)

    def retourner(self, livre: str, membre: int, **kw) -> dict:
        return self.pret("retourner", livre, membre=membre, **kw)

    def prolonger(self, livre: str, membre: int, **kw) -> dict:
        return self.pret("prolonger", livre, membre=membre, **kw)

    def livre(self, livre: str) -> dict:
        return self.pret("etat", livre)

    def accueil(self, op: str, request_id: str | None = None, **fields) -> dict:
        """A request to the accueil: membres, listings page by page, payments settled
        (docs/protocol.md, section 14)."""
        message = protocol.request(request_id or new_request_id(), op, **fields)
        shows = _ACCUEIL_SHOWS.get(op) if ACCUEIL_OPS.parse(message).mutates else None
        return self._send(_Route("accueil", None, self.config.service_endpoint("accueil"), shows), message)

    def ping(self, shard: int, branch: str = "reunions") -> dict:
        route = _Route(branch, None, self.config.endpoint(branch, shard))
        return self._send(route, protocol.request(new_request_id(), "ping"))

    def directory(self, branch: str = "reunions", shard: int = 0) -> dict:
        """Where every partition of `branch` lives, as the shard process `shard` reads it."""
        route = _Route(branch, None, self.config.endpoint(branch, shard))
        return self._send(route, protocol.request(new_request_id(), "directory"))

    def call(self, op: str, seance: str, request_id: str | None = None, **fields) -> dict:
        """A request to the Réunions shard that owns `seance`."""
        return self._send(*self._routed("reunions", op, seance, request_id, fields))

    def pret(self, op: str, livre: str, request_id: str | None = None, **fields) -> dict:
        """A request to the Prêts shard that owns `livre`."""
        return self._send(*self._routed("prets", op, livre, request_id, fields))

    def _routed(self, branch: str, op: str, key: str, request_id: str | None, fields: dict) -> tuple["_Route", dict]:
        """The request checked by the shard's own op table (InvalidField before anything is sent),
        and where it goes."""
        table, key_field, show = _BRANCHES[branch]
        message = protocol.request(request_id or new_request_id(), op, **{key_field: key}, **fields)
        parsed = table.parse(message)
        partition = partition_of(key, self.config.partition_count(branch))
        guess = self.config.endpoint(branch, host_of(partition, self.config.shard_count(branch)))
        shows = f"{show} {key}" if parsed.mutates else None
        return _Route(branch, partition, guess, shows), message

    def _send(self, route: "_Route", message: dict) -> dict:
        """Send until one reply arrives or the deadline passes; the result, or raise by code."""
        payload = wire.encode(message)
        deadline = time.monotonic() + self.deadline
        unanswered = 0
        redirects = 0
        for attempt in itertools.count():
            endpoint = self._endpoint(route)
            self._check_reachable(route, endpoint, message["op"], unanswered)
            remaining = deadline - time.monotonic()
            reply = self._attempt(endpoint, payload, message["id"], min(self.attempt_timeout, max(remaining, 0.01)))
            if reply is not None and reply.get("ok"):
                return reply["result"]
            if reply is not None and self._redirected(route, reply["error"]) and redirects < _REDIRECTS_MAX:
                redirects += 1
                continue
            if reply is not None and reply["error"]["code"] not in ("unavailable", "wrong_owner"):
                raise error_from(reply["error"]["code"], reply["error"]["message"])
            if reply is None and route.partition is not None:
                self._forget_node(endpoint)  # ask the first guess again: it redirects
            unanswered += reply is None
            pause = min(_BACKOFF_MAX, _BACKOFF_BASE * 2**attempt) * random.uniform(0.5, 1.5)
            if time.monotonic() + pause >= deadline:
                break
            self.retries += 1
            time.sleep(pause)
        raise self._gave_up(route, message["op"], unanswered, attempt + 1)

    def _endpoint(self, route: "_Route") -> str:
        """Where the request goes now: the owner last named for its partition, else the guess."""
        if route.partition is None:
            return route.guess
        return self.owners.get((route.branch, route.partition), route.guess)

    def _forget_node(self, endpoint: str) -> None:
        """Forget every owner remembered on the node of `endpoint`, which left an attempt
        unanswered: a node stops, freezes or is cut off as a whole, so each of its other
        partitions would cost one more attempt timeout."""
        node = _node_of(endpoint)
        for key in [key for key, owner in self.owners.items() if _node_of(owner) == node]:
            del self.owners[key]

    def _redirected(self, route: "_Route", error: dict) -> bool:
        """Remember the owner a `wrong_owner` reply names; True if it is another endpoint than
        the one just asked (resend there at once)."""
        owner = error.get("owner") if error.get("code") == "wrong_owner" else None
        if route.partition is None or not isinstance(owner, dict) or not isinstance(owner.get("endpoint"), str):
            return False
        key = (route.branch, route.partition)
        moved = self.owners.get(key, route.guess) != owner["endpoint"]
        self.owners[key] = owner["endpoint"]
        self.redirects += moved
        return moved

    def _check_reachable(self, route: "_Route", endpoint: str, op: str, unanswered: int) -> None:
        """Fail at once when nothing listens for the request and nothing will start its shard again;
        checked before the first attempt and after each unanswered one (a live socket needs none)."""
        if endpoint in self.sockets:
            return
        self._socket(endpoint)
        reason = reach.down(self.config, route.branch, endpoint)
        if reason is None:
            return
        if unanswered and route.shows:
            raise Timeout(f"{reason}; whether {op} was applied is unknown until it is back: `{route.shows}` shows it")
        raise Unavailable(reason)

    def _gave_up(self, route: "_Route", op: str, unanswered: int, attempts: int) -> MonclubError:
        where = f"{route.place} ({self._endpoint(route)})"
        if not unanswered:
            return Unavailable(
                f"{where} answered unavailable until the {self.deadline:.1f}s deadline (is its database down? "
                "see monclub status); nothing was committed"
            )
        if route.shows is None:
            return Timeout(f"no answer from {where} within {self.deadline:.1f}s; see monclub status")
        return Timeout(
            f"no answer from {where} within {self.deadline:.1f}s ({attempts} attempts of the same request): "
            f"whether {op} was applied is unknown; `{route.shows}` shows it"
        )

    def _socket(self, endpoint: str) -> zmq.Socket:
        socket = self.sockets.get(endpoint)
        if socket is None:
            socket = self.context.socket(zmq.REQ)
            socket.linger = 0
            socket.reconnect_ivl = 20
            curve.secure_client(socket, self.config)
            socket.connect(endpoint)
            self.sockets[endpoint] = socket
        return socket

    def _attempt(self, endpoint: str, payload: bytes, request_id: str, timeout: float) -> dict | None:
        socket = self._socket(endpoint)
        socket.send(payload)
        if socket.poll(int(timeout * 1000)):
            reply = wire.decode(socket.recv())
            if reply.get("id") in (request_id, None):
                return reply
        socket.close(linger=0)
        del self.sockets[endpoint]
        return None


def _node_of(endpoint: str) -> str:
    """The node an endpoint belongs to: the host of a tcp endpoint, the run directory of an ipc one."""
    kind, _, address = endpoint.partition("://")
    return address.rpartition(":" if kind == "tcp" else "/")[0]


@dataclass(frozen=True)
class _Route:
    """Where a request goes (its partition, None for a shard process's own op, and the endpoint
    to try first), and for a mutation the command that shows whether it was applied."""

    branch: str
    partition: int | None
    guess: str
    shows: str | None = None

    @property
    def place(self) -> str:
        return self.branch if self.partition is None else f"{self.branch}/partition-{self.partition}"


_BRANCHES = {
    "reunions": (REUNIONS_OPS, "seance", "monclub seance voir"),
    "prets": (PRETS_OPS, "livre", "monclub pret voir"),
}
_ACCUEIL_SHOWS = {"creer_membre": "monclub membre liste", "regler_paiement": "monclub paiements"}
