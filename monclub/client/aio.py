"""MonClub's client for asyncio: the same core as monclub.client.sync (routing and field checks,
request ids, Lazy Pirate attempts, error mapping), over a thin asyncio transport.

One DEALER socket per shard endpoint carries every call in flight to that shard at once (the
web program's requests, say): each reply is matched to its call by request id, so nothing waits
on a stuck socket and a late reply to an earlier attempt of the same call is as good as the last
one. An attempt without a reply within `attempt_timeout` is resent, with the same id, after the
backoff; past the deadline the call raises Timeout or Unavailable, as the sync client does.
"""

import asyncio
import contextlib

import anyio.to_thread
import zmq
import zmq.asyncio

from monclub import config as configuration
from monclub.client.attempts import Attempts, Reach, Send, exchange
from monclub.client.routing import Owners, Route, accueil_request, route_request
from monclub.client.sync import connected, unreachable
from monclub.errors import InvalidRequest
from monclub.wire import codec as wire


class AsyncClient:
    def __init__(self, config: configuration.Config, *, attempt_timeout: float | None = None, deadline=None):
        self.config = config
        self.attempt_timeout = attempt_timeout or config.attempt_timeout
        self.deadline = deadline or config.deadline
        self.context = zmq.asyncio.Context.instance()
        self.sockets: dict[str, zmq.asyncio.Socket] = {}
        self.readers: dict[str, asyncio.Task] = {}
        self.waiting: dict[str, list[asyncio.Future]] = {}
        self.owners = Owners()

    async def command(self, branch: str, op: str, key: str, request_id: str | None = None, **fields) -> dict:
        """A request to the shard of `branch` that owns the aggregate `key` (any op it declares)."""
        return await self._send(*route_request(self.config, branch, op, key, request_id, fields))

    async def accueil(self, op: str, request_id: str | None = None, **fields) -> dict:
        """A request to the accueil: membres, listings page by page, payments settled."""
        return await self._send(*accueil_request(self.config, op, request_id, fields))

    async def _send(self, route: Route, message: dict) -> dict:
        """The steps of monclub.client.attempts.exchange, each done on the event loop."""
        loop = asyncio.get_running_loop()
        attempts = Attempts(route, message, self.attempt_timeout, self.deadline, loop.time(), self.owners)
        steps = exchange(attempts, loop.time)
        answer = None
        try:
            while True:
                step = steps.send(answer)
                answer = None
                if isinstance(step, Reach):
                    await self._check_reachable(route, step.endpoint, message["op"], step.unanswered)
                elif isinstance(step, Send):
                    answer = await self._attempt(step.endpoint, attempts.payload, message["id"], step.timeout)
                else:
                    await asyncio.sleep(step.seconds)
        except StopIteration as done:
            return done.value

    async def _check_reachable(self, route: Route, endpoint: str, op: str, unanswered: int) -> None:
        """As the sync client: asked (in a worker thread) before the first call to a shard and
        after an unanswered attempt."""
        if endpoint in self.sockets and not unanswered:
            return
        self._socket(endpoint)
        error = await anyio.to_thread.run_sync(unreachable, self.config, route, endpoint, op, unanswered)
        if error is not None:
            raise error

    def _socket(self, endpoint: str) -> zmq.asyncio.Socket:
        socket = self.sockets.get(endpoint)
        if socket is None:
            socket = self.sockets[endpoint] = connected(self.context.socket(zmq.DEALER), endpoint, self.config)
            self.readers[endpoint] = asyncio.create_task(self._read(socket), name=f"replies of {endpoint}")
        return socket

    async def _attempt(self, endpoint: str, payload: bytes, request_id: str, timeout: float) -> dict | None:
        future = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(request_id, []).append(future)
        try:
            async with asyncio.timeout(timeout):
                await self._socket(endpoint).send_multipart([b"", payload])
                return await future
        except TimeoutError:
            return None
        finally:
            callers = self.waiting.get(request_id, [])
            if future in callers:
                callers.remove(future)
            if not callers:
                self.waiting.pop(request_id, None)

    async def _read(self, socket: zmq.asyncio.Socket) -> None:
        """Hand each reply to the calls waiting for its request id; drop what matches none."""
        while True:
            frames = await socket.recv_multipart()
            try:
                reply = wire.decode(frames[-1])
            except InvalidRequest:
                continue
            request_id = reply.get("id")
            for future in self.waiting.get(request_id, []) if isinstance(request_id, str) else []:
                if not future.done():
                    future.set_result(reply)

    async def close(self) -> None:
        for task in self.readers.values():
            task.cancel()
        for task in self.readers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for socket in self.sockets.values():
            socket.close(linger=0)
        self.sockets.clear()
        self.readers.clear()
