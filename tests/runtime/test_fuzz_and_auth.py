"""Hostile input to /score (fuzzed with hypothesis) and the optional API key, on a real example image's script."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit import PROJECT_ROOT
from tests.runtime.conftest import Service, StartService

EXAMPLE = PROJECT_ROOT / "images" / "mlp-classifier"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=8), children, max_size=6),
    max_leaves=40,
)
bodies = st.one_of(
    st.binary(max_size=2048),
    st.binary(max_size=64).map(lambda raw: b"\xff\xfe" + raw),  # invalid UTF-8
    json_values.map(lambda value: json.dumps(value).encode()),
    json_values.map(lambda value: json.dumps({"data": value}).encode()),
    st.integers(min_value=1, max_value=50_000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.sampled_from(
        [
            b"",
            b"NaN",
            b'{"data": [[1e400, 2, 3, 4, 5, 6, 7, 8]]}',
            b'{"data": [["a"] * 8]}',
            b'{"data": [[1, 2, 3]]}',
            b'{"data": [[[1, 2, 3, 4, 5, 6, 7, 8]]]}',
            b'{"data": "text"}',
        ]
    ),
)


@pytest.fixture(scope="module")
def example_service(host_tritonserver, tmp_path_factory) -> Service:
    from tests.runtime.conftest import launch

    service = launch(
        host_tritonserver,
        EXAMPLE / "triton",
        "general",
        tmp_path_factory.mktemp("fuzz"),
        {"AML_APP_ROOT": str(EXAMPLE), "MAX_REQUEST_BYTES": "65536"},
    )
    try:
        service.wait_ready()
        yield service
    finally:
        service.stop()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_any_body_gets_a_json_answer_and_the_service_survives(example_service: Service, body: bytes) -> None:
    status, headers, raw = example_service.request("POST", "/score", body, {"Content-Type": "application/json"})
    assert status == 200 or 400 <= status < 600
    if status >= 400:
        answer = json.loads(raw)
        assert isinstance(answer.get("message"), str) and answer["message"]
        assert "Traceback" not in answer["message"]
        assert status != 500 or headers.get("x-ms-run-function-failed") == "True"
    assert example_service.request("GET", "/")[0] == 200


def test_oversized_body_is_413(example_service: Service) -> None:
    status, _, raw = example_service.request("POST", "/score", b"[" + b"1," * 40_000 + b"1]")
    assert status == 413 and "MAX_REQUEST_BYTES" in json.loads(raw)["message"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/admin", 404), ("PUT", "/score", 405), ("DELETE", "/", 405), ("POST", "/ready", 405)],
)
def test_unknown_paths_and_methods(example_service: Service, method: str, path: str, status: int) -> None:
    assert example_service.request(method, path)[0] == status


def test_api_key_guards_score_only(start_service: StartService) -> None:
    service = start_service(SCORING_API_KEY="s3cret-key")
    assert service.score({"op": "echo"})[0] == 401
    assert service.score({"op": "echo"}, headers={"Authorization": "Bearer wrong"})[0] == 401
    status, headers, body = service.score({"op": "echo"}, headers={"Authorization": "Bearer s3cret-key"})
    assert status == 200 and body["echo"] == {"op": "echo"}
    status, headers, raw = service.request("POST", "/score", b"{}")
    assert status == 401 and headers["www-authenticate"] == "Bearer" and "API key" in json.loads(raw)["message"]
    assert service.request("GET", "/")[0] == 200 and service.request("GET", "/ready")[0] == 200
    assert "s3cret-key" not in service.log()


def test_triton_listens_on_loopback_only(general_service: Service) -> None:
    assert f"Started HTTPService at 127.0.0.1:{general_service.triton_port}" in general_service.log()
