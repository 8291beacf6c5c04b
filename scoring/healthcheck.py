"""Docker HEALTHCHECK: exit 0 when the scoring app reports ready (Triton ready), 1 otherwise."""

from __future__ import annotations

import http.client
import os
import sys


def main() -> int:
    host = os.environ.get("SERVER_HOST", "127.0.0.1")
    host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    connection = http.client.HTTPConnection(host, int(os.environ.get("SERVER_PORT", "5001")), timeout=4)
    try:
        connection.request("GET", "/ready")
        return 0 if connection.getresponse().status == 200 else 1
    except OSError:
        return 1
    finally:
        connection.close()


if __name__ == "__main__":
    sys.exit(main())
