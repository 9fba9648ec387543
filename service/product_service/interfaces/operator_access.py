"""Who may use the HTTP operator routes (every route but the probes): callers that send
`Authorization: Bearer <PRODUCT_HTTP_TOKEN>`.

Without a token set, only GET requests are answered, and only by a listener on loopback (the
default 127.0.0.1 of the demo, `make run` and the tests); a listener others can reach (a pod
listens on 0.0.0.0) answers 403 naming the setting, so views are never open by accident, and no
action (a non-GET route) is ever open. /healthz, /readyz and /metrics stay open for the kubelet
and Prometheus.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

SETTING = "PRODUCT_HTTP_TOKEN"
READ_ONLY = frozenset({"GET", "HEAD"})

_bearer = HTTPBearer(auto_error=False, description=f"The token set in {SETTING}")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


@dataclass(frozen=True)
class OperatorAccess:
    token: SecretStr | None
    loopback_listener: bool

    @classmethod
    def for_listener(cls, token: SecretStr | None, host: str) -> OperatorAccess:
        return cls(token, is_loopback(host))

    @property
    def closed(self) -> bool:
        """No token, and a listener others can reach: every operator route answers 403."""
        return self.token is None and not self.loopback_listener

    def check(self, request: Request, credentials: Credentials) -> None:
        """The dependency of the operator router."""
        if self.token is None:
            if self.loopback_listener and request.method in READ_ONLY:
                return
            raise HTTPException(
                403,
                f"{SETTING} is not set: set it and send 'Authorization: Bearer <token>'. "
                "Without it only GET requests to a listener on loopback are answered.",
            )
        given = credentials.credentials.encode() if credentials else b""
        if not hmac.compare_digest(given, self.token.get_secret_value().encode()):
            raise HTTPException(
                401,
                f"missing or wrong bearer token: send 'Authorization: Bearer <{SETTING}>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
