"""A TCP forwarder that can be cut: put it between an app and its sidecar's port to make the
sidecar unreachable for that app while everything else keeps running (fault tests)."""

from __future__ import annotations

import socket
import threading

from devstack.net import HOST


class Gate:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`target_port` while open.

    `cut()` closes every forwarded connection and answers new ones by closing them at once,
    so a client sees the peer go away; `restore()` forwards again.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server((HOST, 0))
        self.port: int = self._listener.getsockname()[1]
        self._open = True
        self._closed = False
        self._guard = threading.Lock()
        self._sockets: set[socket.socket] = set()
        threading.Thread(target=self._accept, name=f"gate-{self.port}", daemon=True).start()

    @property
    def is_open(self) -> bool:
        return self._open

    def cut(self) -> None:
        with self._guard:
            self._open = False
            for sock in self._sockets:
                _shut(sock)
            self._sockets.clear()

    def restore(self) -> None:
        with self._guard:
            self._open = True

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._guard:
                if not self._open:
                    _shut(client)
                    continue
            try:
                upstream = socket.create_connection((HOST, self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                _shut(client)
                continue
            with self._guard:
                self._sockets.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._guard:
                self._sockets.discard(src)
                self._sockets.discard(dst)
            _shut(src)
            _shut(dst)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
