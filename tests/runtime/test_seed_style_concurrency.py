"""A seed-style script (global tritonhttpclient client made in init()) under 64 concurrent clients."""

from __future__ import annotations

import http.client
import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnxruntime as ort

from tests.runtime.conftest import StartService

CLIENTS = 64
REQUESTS = 2048


def expected_top3(session: ort.InferenceSession, row: np.ndarray) -> list[tuple[int, float]]:
    probabilities = session.run(["probabilities"], {"x": row[None, :]})[0][0]
    order = np.argsort(-probabilities, kind="stable")
    return [(int(index), float(probabilities[index])) for index in order]


def test_seed_script_unmodified_is_correct_and_batched_under_64_clients(start_service: StartService) -> None:
    service = start_service("seed_style", WORKER_COUNT="2")
    rng = np.random.default_rng(2024)
    # Distinct inputs; scaled so that the three classes have clearly different probabilities.
    inputs = rng.standard_normal((REQUESTS, 8)).astype(np.float32) * 0.2

    def client_loop(first: int) -> list[tuple[int, int, object]]:
        connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=60)
        answers = []
        for index in range(first, REQUESTS, CLIENTS):
            body = json.dumps({"data": [inputs[index].tolist()]})
            connection.request("POST", "/score", body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            answers.append((index, response.status, json.loads(response.read())))
        connection.close()
        return answers

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        answers = [answer for chunk in pool.map(client_loop, range(CLIENTS)) for answer in chunk]

    assert len(answers) == REQUESTS
    failures = [(index, status, body) for index, status, body in answers if status != 200]
    assert not failures, failures[:3]
    session = ort.InferenceSession(str(service.repository / "mlp" / "1" / "model.onnx"))
    for index, _, body in answers:
        served = [(int(entry.split(":")[1]), float(entry.split(":")[0])) for entry in body[0]]
        expected = expected_top3(session, inputs[index])
        assert [position for position, _ in served] == [position for position, _ in expected], (index, body)
        np.testing.assert_allclose([value for _, value in served], [value for _, value in expected], atol=2e-6)

    url = f"http://127.0.0.1:{service.triton_port}/v2/models/mlp/stats"
    with urllib.request.urlopen(url, timeout=10) as response:
        stats = json.loads(response.read())["model_stats"][0]
    print(f"mlp stats: inference_count={stats['inference_count']} execution_count={stats['execution_count']}")
    assert stats["inference_count"] >= REQUESTS
    assert stats["inference_count"] > stats["execution_count"], stats
