"""Docker HEALTHCHECK: exit 0 when the scoring app reports ready (Triton ready), 1 otherwise."""

from __future__ import annotations

import http.client
import sys

from scoring.settings import Settings


def main() -> int:
    settings = Settings.from_env()
    host = "127.0.0.1" if settings.server_host in ("0.0.0.0", "", "::") else settings.server_host
    connection = http.client.HTTPConnection(host, settings.server_port, timeout=4)
    try:
        connection.request("GET", "/ready")
        return 0 if connection.getresponse().status == 200 else 1
    except OSError:
        return 1
    finally:
        connection.close()


if __name__ == "__main__":
    sys.exit(main())
