"""devstack's Gate: a loopback TCP forwarder that fault tests cut and restore."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import closing

import pytest

from devstack.gate import Gate


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    def echo(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(1024):
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def round_trip(port: int, payload: bytes = b"ping") -> bytes:
    """What comes back; b"" when the connection is closed or reset instead."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        try:
            conn.sendall(payload)
            return conn.recv(1024)
        except ConnectionResetError:
            return b""


def test_open_gate_forwards_both_ways(echo_port: int) -> None:
    with closing(Gate(echo_port)) as gate:
        assert gate.port != echo_port
        assert round_trip(gate.port) == b"ping"


def test_cut_gate_drops_open_connections_and_refuses_new_ones_until_restored(
    echo_port: int,
) -> None:
    with closing(Gate(echo_port)) as gate:
        held = socket.create_connection(("127.0.0.1", gate.port), timeout=5)
        held.sendall(b"a")
        assert held.recv(16) == b"a"

        gate.cut()

        assert held.recv(16) == b"", "the forwarded connection must be closed"
        held.close()
        assert round_trip(gate.port) == b""
        assert not gate.is_open

        gate.restore()

        assert round_trip(gate.port, b"again") == b"again"
