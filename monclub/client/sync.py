"""The MonClub client: Lazy Pirate over REQ sockets (the zguide's reliable request-reply).

Each call gets one request id, kept on every retry, so a request that was in flight during a
kill -9 is applied at most once and its caller still gets the one answer. An attempt that gets no
reply within `attempt_timeout` closes its socket (a REQ socket is stuck after a lost reply, and a
late reply must never be taken for a newer request's) and resends on a new one, after a jittered
exponential backoff; `unavailable` replies are retried the same way. Past `deadline` the call
raises Timeout (no answer: outcome unknown) or Unavailable (nothing was committed).

A request is routed by monclub.client.routing (its partition's owner, `wrong_owner` redirects followed
at once), and before the first attempt and after each unanswered one, monclub.client.reach tells whether
anything listens or will again: when nothing will (MonClub stopped), the call fails at once
instead of at its deadline.

Not thread-safe: one Client per thread.
"""

import time

import zmq

from monclub import config as configuration
from monclub.client import reach
from monclub.client.attempts import Attempts, Reach, Send, exchange
from monclub.client.routing import Owners, Route, accueil_request, new_request_id, route_request
from monclub.contract import protocol
from monclub.errors import MonclubError, Timeout, Unavailable
from monclub.wire import codec as wire
from monclub.wire import curve


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
        self.owners = Owners()
        self.retries = 0

    @property
    def redirects(self) -> int:
        return self.owners.redirects

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

    def accueil(self, op: str, request_id: str | None = None, **fields) -> dict:
        """A request to the accueil: membres, listings page by page, payments settled
        (docs/protocol.md, section 14)."""
        return self._send(*accueil_request(self.config, op, request_id, fields))

    def ping(self, shard: int, branch: str = "reunions") -> dict:
        route = Route(branch, None, self.config.endpoint(branch, shard))
        return self._send(route, protocol.request(new_request_id(), "ping"))

    def directory(self, branch: str = "reunions", shard: int = 0) -> dict:
        """Where every partition of `branch` lives, as the shard process `shard` reads it."""
        route = Route(branch, None, self.config.endpoint(branch, shard))
        return self._send(route, protocol.request(new_request_id(), "directory"))

    def command(self, branch: str, op: str, key: str, request_id: str | None = None, **fields) -> dict:
        """A request to the shard of `branch` that owns the aggregate `key` (any op it declares)."""
        return self._send(*route_request(self.config, branch, op, key, request_id, fields))

    def call(self, op: str, seance: str, request_id: str | None = None, **fields) -> dict:
        """A request to the Réunions shard that owns `seance`."""
        return self.command("reunions", op, seance, request_id, **fields)

    def pret(self, op: str, livre: str, request_id: str | None = None, **fields) -> dict:
        """A request to the Prêts shard that owns `livre`."""
        return self.command("prets", op, livre, request_id, **fields)

    def _send(self, route: Route, message: dict) -> dict:
        """Send until one reply arrives or the deadline passes; the result, or raise by code: the
        steps of monclub.client.attempts.exchange, each done with blocking calls."""
        attempts = Attempts(route, message, self.attempt_timeout, self.deadline, time.monotonic(), self.owners)
        steps = exchange(attempts, time.monotonic)
        answer = None
        try:
            while True:
                step = steps.send(answer)
                answer = None
                if isinstance(step, Reach):
                    self._check_reachable(route, step.endpoint, message["op"], step.unanswered)
                elif isinstance(step, Send):
                    answer = self._attempt(step.endpoint, attempts.payload, message["id"], step.timeout)
                else:
                    self.retries += 1
                    time.sleep(step.seconds)
        except StopIteration as done:
            return done.value

    def _check_reachable(self, route: Route, endpoint: str, op: str, unanswered: int) -> None:
        """Fail at once when nothing listens for the request and nothing will start its shard again;
        checked before the first attempt and after each unanswered one (a live socket needs none)."""
        if endpoint in self.sockets:
            return
        self._socket(endpoint)
        error = unreachable(self.config, route, endpoint, op, unanswered)
        if error is not None:
            raise error

    def _socket(self, endpoint: str) -> zmq.Socket:
        socket = self.sockets.get(endpoint)
        if socket is None:
            socket = self.sockets[endpoint] = connected(self.context.socket(zmq.REQ), endpoint, self.config)
        return socket

    def _attempt(self, endpoint: str, payload: bytes, request_id: str, timeout: float) -> dict | None:
        """One attempt within `timeout`, the send included: a REQ socket blocks its send while it
        has no connection to queue on (a CURVE handshake the shard refused drops it until the
        next reconnect), so the send waits for one no longer than the attempt may."""
        socket = self._socket(endpoint)
        ends = time.monotonic() + timeout
        if socket.poll(int(timeout * 1000), zmq.POLLOUT):
            socket.send(payload)
            if socket.poll(max(int((ends - time.monotonic()) * 1000), 1)):
                reply = wire.decode(socket.recv())
                if reply.get("id") in (request_id, None):
                    return reply
        socket.close(linger=0)
        del self.sockets[endpoint]
        return None


def connected(socket, endpoint: str, config: configuration.Config):
    """A client socket of either transport, set up alike: no linger, quick reconnects, CURVE
    when the configuration asks for it, connected to `endpoint`."""
    socket.linger = 0
    socket.reconnect_ivl = 20
    curve.secure_client(socket, config)
    socket.connect(endpoint)
    return socket


def unreachable(
    config: configuration.Config, route: Route, endpoint: str, op: str, unanswered: int
) -> MonclubError | None:
    """The error of a call that nothing will answer at `endpoint` (monclub.client.reach), or None while
    it listens or will again: `timeout` when an attempt went unanswered (its outcome is unknown)."""
    reason = reach.down(config, route.branch, endpoint)
    if reason is None:
        return None
    if unanswered and route.shows:
        return Timeout(f"{reason}; whether {op} was applied is unknown until it is back: `{route.shows}` shows it")
    return Unavailable(reason)
