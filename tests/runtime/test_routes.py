"""Every route and header of the scoring app, served by the real supervisor + Gunicorn + tritonserver."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import numpy as np
import onnxruntime as ort

from tests.runtime.conftest import Service, StartService

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_liveness_is_plain_healthy(general_service: Service) -> None:
    status, headers, body = general_service.request("GET", "/")
    assert (status, body) == (200, b"Healthy")
    assert UUID.match(headers["x-request-id"])


def test_readiness_reflects_triton(general_service: Service) -> None:
    status, _, body = general_service.request("GET", "/ready")
    assert status == 200 and json.loads(body) == {"status": "ready"}


def test_score_calls_triton_and_matches_onnxruntime(general_service: Service) -> None:
    batch = np.random.default_rng(3).standard_normal((2, 8)).astype(np.float32)
    status, headers, body = general_service.score({"op": "infer", "data": batch.tolist()})
    assert status == 200, body
    session = ort.InferenceSession(str(general_service.repository / "mlp" / "1" / "model.onnx"))
    expected = session.run(["probabilities"], {"x": batch})[0]
    np.testing.assert_allclose(np.asarray(body["probabilities"]), expected, rtol=1e-5, atol=1e-6)
    assert float(headers["x-ms-run-fn-exec-ms"]) > 0


def test_python_backend_model_through_score(general_service: Service) -> None:
    status, _, body = general_service.score({"op": "double", "data": [[1, 2, 3, 4]]})
    assert status == 200, body
    assert body == {"DOUBLED": [[2.0, 4.0, 6.0, 8.0]], "TOTAL": [[10.0]]}


def test_get_score_passes_query_parameters_as_json(general_service: Service) -> None:
    status, _, body = general_service.request("GET", "/score?op=echo&name=ada&empty=")
    assert status == 200
    assert json.loads(body)["echo"] == {"op": "echo", "name": "ada", "empty": ""}


def test_init_ran_once_per_worker(general_service: Service) -> None:
    for _ in range(10):
        status, _, body = general_service.score({"op": "echo"})
        assert status == 200 and body["init_calls"] == 1


def test_options_score(general_service: Service) -> None:
    status, headers, _ = general_service.request("OPTIONS", "/score")
    assert status == 200
    assert set(headers["allow"].replace(" ", "").split(",")) == {"GET", "POST", "OPTIONS"}


def test_default_swagger_describes_score(general_service: Service) -> None:
    status, _, body = general_service.request("GET", "/swagger.json")
    document = json.loads(body)
    assert status == 200 and document["swagger"] == "2.0"
    assert {"get", "post"} <= set(document["paths"]["/score"])


def test_user_swagger_wins(start_service: StartService) -> None:
    service = start_service("user_swagger")
    status, _, body = service.request("GET", "/swagger.json")
    assert status == 200 and json.loads(body)["info"]["title"] == "user supplied"


def test_unknown_path_is_json_404(general_service: Service) -> None:
    status, headers, body = general_service.request("GET", "/nope")
    assert status == 404 and headers["content-type"] == "application/json"
    assert "/nope" in json.loads(body)["message"]


def test_wrong_method_is_json_405_with_allow(general_service: Service) -> None:
    status, headers, body = general_service.request("DELETE", "/score")
    assert status == 405 and "POST" in headers["allow"]
    assert "DELETE" in json.loads(body)["message"]
    assert general_service.request("POST", "/")[0] == 405


def test_request_id_is_echoed(general_service: Service) -> None:
    request_id = f"client-{uuid.uuid4()}"
    status, headers, _ = general_service.score({"op": "echo"}, headers={"x-request-id": request_id})
    assert status == 200 and headers["x-request-id"] == request_id


def test_long_request_id_is_431(general_service: Service) -> None:
    status, _, body = general_service.score({"op": "echo"}, headers={"x-request-id": "r" * 101})
    assert status == 431 and "100 characters" in body["message"]
    assert general_service.score({"op": "echo"}, headers={"x-request-id": "r" * 100})[0] == 200


def test_run_may_return_its_own_response(general_service: Service) -> None:
    status, headers, body = general_service.request("POST", "/score", json.dumps({"op": "response"}))
    assert (status, body) == (201, b"created")
    assert headers["x-custom"] == "yes" and headers["content-type"] == "text/plain"


def test_rawhttp_run_receives_bytes(start_service: StartService) -> None:
    service = start_service("raw_body")
    payload = bytes(range(256)) * 8  # not UTF-8: only a raw-request run() can take it
    status, _, body = service.request("POST", "/score?size=large", payload, {"Content-Type": "image/png"})
    answer = json.loads(body)
    assert status == 200, answer
    assert answer["bytes"] == len(payload) and answer["content_type"] == "image/png"
    assert answer["args"] == {"size": "large"} and answer["method"] == "POST"


def test_metrics_count_requests_by_route_and_status(general_service: Service) -> None:
    general_service.request("GET", "/nope")
    general_service.score({"op": "echo"})
    status, _, body = general_service.request("GET", "/metrics")
    text = body.decode()
    assert status == 200
    assert re.search(r'scoring_requests_total\{method="POST",route="/score",status="200"\} [1-9]', text), text
    assert re.search(r'scoring_requests_total\{method="GET",route="other",status="404"\} [1-9]', text)
    assert "scoring_request_duration_seconds_bucket" in text


def test_app_files_are_what_the_tests_use() -> None:
    assert (Path(__file__).parent / "apps" / "user_swagger" / "swagger.json").is_file()
