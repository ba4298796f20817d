"""A Redis that drops a connection once: the confirmation's Redis calls are retried by
redis-py (configured in truss.queue.get_redis), so the analysis is queued anyway."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from fakeredis import TcpFakeServer
from flask import Flask

from tests.support.app import make_app
from truss import queue
from truss.services import reconcile


class DropsFirstConnection:
    """A TCP proxy in front of a Redis server that closes the first connection at once."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.dropped = target, 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if not self.dropped:
                self.dropped += 1
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            sink.close()

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def flaky_redis_app(aws: None) -> Iterator[tuple[Flask, DropsFirstConnection]]:
    server = TcpFakeServer(("127.0.0.1", 0), server_type="redis")
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    proxy = DropsFirstConnection(server.server_address[:2])
    app = make_app(None, REDIS_URL=f"redis://127.0.0.1:{proxy.port}/0")
    yield app, proxy
    proxy.close()
    server.shutdown()
    server.server_close()


def test_a_dropped_connection_is_retried(
    flaky_redis_app: tuple[Flask, DropsFirstConnection],
) -> None:
    app, proxy = flaky_redis_app
    with app.app_context():
        reconcile.watch(queue.get_redis(), "C1", "01AAAAAAAAAAAAAAAAAAAAAAAA")  # what confirm does
        assert proxy.dropped == 1
        assert queue.get_redis().zcard(reconcile.WORKING_SET) == 1
