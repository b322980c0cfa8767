"""A raw HTTP/1.1 client for the load generator: one keep-alive connection, one request at a
time, the answer read by its Content-Length. An httpx loop saturates first on 2 cores; this one
costs a send and a receive or two per request, so that the benchmark measures the server.
The same client against the no-op endpoint (GET /api/ping) gives the generator's own ceiling."""

import json
import socket
from urllib.parse import urlsplit

TIMEOUT = 30.0


class RawHttp:
    def __init__(self, url: str):
        parts = urlsplit(url)
        self.host = parts.netloc
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n"
        self.sock.sendall(head.encode() + b"Content-Type: application/json\r\n\r\n" + body)
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        header, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = header.decode("latin-1").split("\r\n")
        length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
        while len(self.buffer) < length:
            self._read()
        answer, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(lines[0].split()[1]), answer

    def _read(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


class HttpRegistrations:
    """A registration over HTTP: POST /api/seances/{seance}/inscrire; None when applied, else the
    problem's code."""

    def __init__(self, url: str):
        self.http = RawHttp(url)

    def inscrire(self, seance: str, membre: int) -> str | None:
        status, body = self.http.request("POST", f"/api/seances/{seance}/inscrire", b'{"membre":%d}' % membre)
        return None if status == 200 else json.loads(body).get("code", str(status))

    def close(self) -> None:
        self.http.close()


class NoOp(HttpRegistrations):
    """The load generator's own ceiling: the same loop against GET /api/ping."""

    def inscrire(self, seance: str, membre: int) -> str | None:
        status, _ = self.http.request("GET", "/api/ping")
        return None if status == 200 else str(status)
