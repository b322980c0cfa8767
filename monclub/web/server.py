"""The web program: uvicorn serving monclub.web.app on a socket it binds itself.

With `[web] port = 0` (the default) the kernel picks a free port and the program writes it to
run/web.json; restarted by supervisord, it binds the same port again when it is still free, so
that an open page reconnects by itself. The socket is never probed and closed: it is bound once
and served, so two instances side by side never race for one port.
"""

import logging
import os
import socket

import uvicorn

from monclub.config import Config
from monclub.tree import web_address
from monclub.web import settings as web_settings
from monclub.web.app import create_app

log = logging.getLogger("monclub.web")
BACKLOG = 2048


def _bound(bind: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in bind else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((bind, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def listening_socket(config: Config, settings: web_settings.WebSettings) -> socket.socket:
    """The configured port; with port 0, this tree's previous one if it is free, else a new one."""
    previous = web_address.read_address(config) or {}
    if settings.port == 0 and previous.get("bind") == settings.bind and isinstance(previous.get("port"), int):
        try:
            return _bound(settings.bind, previous["port"])
        except OSError:
            log.info("port %s of the previous run is taken: binding a free one", previous["port"])
    return _bound(settings.bind, settings.port)


def serve(config: Config) -> int:
    settings = web_settings.load(config)
    sock = listening_socket(config, settings)
    port = sock.getsockname()[1]
    web_address.write_address(config, settings.bind, port, os.getpid())
    log.info("serving on %s:%d", settings.bind, port)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config, settings),
            log_config=None,
            access_log=False,
            lifespan="on",
            server_header=False,
            timeout_graceful_shutdown=2,
        )
    )
    server.run(sockets=[sock])
    sock.close()
    return 0
