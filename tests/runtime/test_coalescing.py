"""Coalesced Triton calls under concurrency: every caller gets exactly its own rows, equal to unbatched results."""

from __future__ import annotations

import http.client
import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnxruntime as ort
import pytest

from tests.runtime.conftest import Service, StartService

CLIENTS = 48
REQUESTS = 960
TOLERANCE = 1e-5


def request_rows(rng: np.random.Generator) -> list[np.ndarray]:
    """Distinct inputs of 1 to 3 rows each, so a mixed-up or shifted slice cannot match by chance."""
    return [rng.standard_normal((1 + index % 3, 8)).astype(np.float32) for index in range(REQUESTS)]


def post_all(service: Service, bodies: list[dict]) -> list[tuple[int, object]]:
    def client_loop(first: int) -> list[tuple[int, int, object]]:
        connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=60)
        answers = []
        for index in range(first, len(bodies), CLIENTS):
            connection.request("POST", "/score", json.dumps(bodies[index]), {"Content-Type": "application/json"})
            response = connection.getresponse()
            answers.append((index, response.status, json.loads(response.read())))
        connection.close()
        return answers

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        answers = sorted(answer for chunk in pool.map(client_loop, range(CLIENTS)) for answer in chunk)
    assert [index for index, _, _ in answers] == list(range(len(bodies)))
    return [(status, body) for _, status, body in answers]


def triton_requests(service: Service, model: str = "mlp") -> int:
    """Inference requests Triton has answered for the model (not rows: a joined request counts once)."""
    url = f"http://127.0.0.1:{service.triton_port}/v2/models/{model}/stats"
    with urllib.request.urlopen(url, timeout=10) as response:
        stats = json.loads(response.read())["model_stats"][0]
    return int(stats["inference_stats"]["success"]["count"])


def unbatched(session: ort.InferenceSession, rows: np.ndarray) -> np.ndarray:
    return np.concatenate([session.run(["probabilities"], {"x": row[None, :]})[0] for row in rows])


@pytest.mark.parametrize("window", ["0", "2000"])
def test_numpy_path_rows_are_never_mixed_and_calls_are_joined(start_service: StartService, window: str) -> None:
    service = start_service("general", WORKER_COUNT="1", TRITON_COALESCE_US=window)
    inputs = request_rows(np.random.default_rng(7))
    before = triton_requests(service)
    answers = post_all(service, [{"op": "infer", "data": rows.tolist()} for rows in inputs])
    sent = triton_requests(service) - before

    session = ort.InferenceSession(str(service.repository / "mlp" / "1" / "model.onnx"))
    for rows, (status, body) in zip(inputs, answers, strict=True):
        assert status == 200, body
        served = np.asarray(body["probabilities"], dtype=np.float32)
        assert served.shape == (len(rows), 3)
        np.testing.assert_allclose(served, unbatched(session, rows), atol=TOLERANCE, rtol=0)
    print(f"window {window} us: {REQUESTS} /score requests reached Triton as {sent} requests")
    assert sent < REQUESTS  # joined: fewer Triton requests than callers


def test_coalescing_off_sends_every_call_on_its_own(start_service: StartService) -> None:
    service = start_service("general", WORKER_COUNT="1", TRITON_COALESCE_US="off")
    inputs = request_rows(np.random.default_rng(8))[:192]
    before = triton_requests(service)
    answers = post_all(service, [{"op": "infer", "data": rows.tolist()} for rows in inputs])
    assert all(status == 200 for status, _ in answers)
    assert triton_requests(service) - before == len(inputs)


def test_seed_style_class_count_results_are_each_callers_own(start_service: StartService) -> None:
    service = start_service("seed_style", WORKER_COUNT="1")
    inputs = request_rows(np.random.default_rng(9))
    before = triton_requests(service)
    answers = post_all(service, [{"data": rows.tolist()} for rows in inputs])
    sent = triton_requests(service) - before

    session = ort.InferenceSession(str(service.repository / "mlp" / "1" / "model.onnx"))
    for rows, (status, body) in zip(inputs, answers, strict=True):
        assert status == 200, body
        expected = unbatched(session, rows)
        assert len(body) == len(rows)
        for served_row, expected_row in zip(body, expected, strict=True):
            entries = [entry.split(":") for entry in served_row]
            positions = [int(position) for _, position in entries]
            assert positions == np.argsort(-expected_row, kind="stable").tolist()
            np.testing.assert_allclose([float(value) for value, _ in entries], expected_row[positions], atol=TOLERANCE)
    assert sent < REQUESTS
