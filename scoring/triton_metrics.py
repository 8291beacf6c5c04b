"""Triton's own Prometheus metrics (nv_inference_*: counts, queue and compute time), re-exported on the scoring
port's /metrics so an autoscaler can use them while Triton's metrics port stays on the container's loopback.
"""

from __future__ import annotations

import http.client

from scoring.settings import Settings

UP = "scoring_triton_metrics_up"
HEADER = f"# HELP {UP} 1 when Triton's metrics were scraped for this answer, else 0\n# TYPE {UP} gauge\n"


def scrape(settings: Settings, timeout_s: float = 2.0) -> bytes:
    """Triton's exposition text followed by the up gauge; only the gauge (0) when Triton's metrics do not answer."""
    connection = http.client.HTTPConnection("127.0.0.1", settings.triton_metrics_port, timeout=timeout_s)
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        body = response.read()
        ok = response.status == 200
    except OSError:
        ok, body = False, b""
    finally:
        connection.close()
    if not ok:
        return f"{HEADER}{UP} 0\n".encode()
    if body and not body.endswith(b"\n"):
        body += b"\n"
    return body + f"{HEADER}{UP} 1\n".encode()
