"""Is Triton ready? One probe of /v2/health/ready, shared by the supervisor (start-up) and the app (/ready)."""

from __future__ import annotations

import http.client


class TritonReadiness:
    """Asks Triton's /v2/health/ready on every call: orchestrators poll seldom, and a stale answer would lie."""

    def __init__(self, url: str, timeout_s: float = 2.0) -> None:
        host, _, port = url.rpartition(":")
        self.host, self.port, self.timeout_s = host or "localhost", int(port), timeout_s

    def check(self) -> tuple[bool, str]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        try:
            connection.request("GET", "/v2/health/ready")
            status = connection.getresponse().status
        except OSError as error:
            return False, f"Triton at {self.host}:{self.port} is not reachable ({error.__class__.__name__})"
        finally:
            connection.close()
        return (True, "ready") if status == 200 else (False, f"Triton is not ready (HTTP {status})")
