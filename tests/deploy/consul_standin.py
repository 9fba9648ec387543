"""A stand-in for the part of Consul's HTTP API that Dapr's Consul name resolver uses.

No Consul server can be had here under an open-source licence. This speaks what
components-contrib's `nameresolution/hashicorp/consul` (v1.18.4) calls through the Consul API
client: PUT /v1/agent/service/register (self-registration), PUT
/v1/agent/service/deregister/<id> (selfDeregister), GET /v1/agent/self (the check made when not
registering) and GET /v1/health/service/<name>?passing=1 (resolution). `passing` is honoured
by running each registered HTTP check at query time, as an agent would have recently done.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

HOST = "127.0.0.1"
NODE = {"ID": "standin", "Node": "standin", "Address": HOST, "Datacenter": "dc1"}


class ConsulStandIn:
    def __init__(self) -> None:
        self.services: dict[str, dict[str, Any]] = {}  # service id -> registration
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((HOST, 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        return f"{HOST}:{self._server.server_address[1]}"

    def __enter__(self) -> ConsulStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def registered(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return [s for s in self.services.values() if s.get("Name") == name]

    def queried(self, name: str) -> int:
        return sum(1 for m, p in self.requests if m == "GET" and p == f"/v1/health/service/{name}")

    def healthy_entries(self, name: str, passing_only: bool) -> list[dict[str, Any]]:
        entries = []
        for reg in self.registered(name):
            checks = [self._run_check(reg["ID"], c) for c in _checks(reg)]
            if passing_only and any(c["Status"] != "passing" for c in checks):
                continue
            service = {
                "ID": reg["ID"],
                "Service": reg["Name"],
                "Tags": reg.get("Tags") or [],
                "Address": reg.get("Address", ""),
                "Port": reg.get("Port", 0),
                "Meta": reg.get("Meta") or {},
            }
            entries.append({"Node": NODE, "Service": service, "Checks": checks})
        return entries

    @staticmethod
    def _run_check(service_id: str, check: dict[str, Any]) -> dict[str, Any]:
        status = "passing"
        if check.get("HTTP"):
            try:
                # Consul's own default check timeout is 10 s; a loaded sidecar can take >1 s.
                ok = httpx.get(check["HTTP"], timeout=5).is_success
            except httpx.HTTPError:
                ok = False
            status = "passing" if ok else "critical"
        return {"Node": NODE["Node"], "ServiceID": service_id, "Status": status,
                "Name": check.get("Name", "")}  # fmt: skip

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _reply(self, body: Any, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Consul-Index", "1")
                self.send_header("X-Consul-KnownLeader", "true")
                self.send_header("X-Consul-LastContact", "0")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self) -> None:
                url = urlsplit(self.path)
                standin.requests.append(("PUT", url.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                if url.path == "/v1/agent/service/register":
                    reg = dict(body)
                    reg.setdefault("ID", reg["Name"])
                    with standin._lock:
                        standin.services[reg["ID"]] = reg
                    self._reply(None)
                elif url.path.startswith("/v1/agent/service/deregister/"):
                    with standin._lock:
                        standin.services.pop(url.path.rsplit("/", 1)[1], None)
                    self._reply(None)
                else:
                    self._reply({"error": f"not in the stand-in: PUT {url.path}"}, 404)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                standin.requests.append(("GET", url.path))
                query = parse_qs(url.query, keep_blank_values=True)
                if url.path == "/v1/agent/self":
                    self._reply({"Config": {"Datacenter": "dc1", "NodeName": NODE["Node"]},
                                 "Member": {"Name": NODE["Node"], "Addr": HOST}})  # fmt: skip
                elif url.path.startswith("/v1/health/service/"):
                    name = url.path.rsplit("/", 1)[1]
                    self._reply(standin.healthy_entries(name, "passing" in query))
                else:
                    self._reply({"error": f"not in the stand-in: GET {url.path}"}, 404)

        return Handler


def _checks(registration: dict[str, Any]) -> list[dict[str, Any]]:
    checks = list(registration.get("Checks") or [])
    if registration.get("Check"):
        checks.append(registration["Check"])
    return checks
