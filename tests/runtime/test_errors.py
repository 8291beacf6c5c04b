"""Bad input and failures: each answers a JSON error with the right status, and the worker keeps serving."""

from __future__ import annotations

import json
import socket

from tests.runtime.conftest import Service


def assert_still_serving(service: Service) -> None:
    assert service.request("GET", "/")[0] == 200
    assert service.score({"op": "echo"})[0] == 200


def test_malformed_json_is_400_naming_json(general_service: Service) -> None:
    status, _, body = general_service.request("POST", "/score", b'{"op": "echo",')
    assert status == 400 and "not valid JSON" in json.loads(body)["message"]
    assert_still_serving(general_service)


def test_invalid_utf8_is_400(general_service: Service) -> None:
    status, _, body = general_service.request("POST", "/score", b"\xff\xfe\xfa")
    assert status == 400 and "UTF-8" in json.loads(body)["message"]


def test_wrong_shape_passes_tritons_message_as_400(general_service: Service) -> None:
    status, _, body = general_service.score({"op": "wrong_shape"})
    assert status == 400, body
    assert body["message"].startswith("Triton rejected the request:")
    assert "shape" in body["message"]


def test_bad_request_raised_by_run_is_400(general_service: Service) -> None:
    status, _, body = general_service.score({"op": "bad_request"})
    assert status == 400 and body == {"message": "field 'data' must hold 8 numbers per row"}


def test_run_failure_is_500_without_traceback_and_logged_with_request_id(general_service: Service) -> None:
    status, headers, body = general_service.score({"op": "fail"}, headers={"x-request-id": "fail-42"})
    assert status == 500
    assert headers["x-ms-run-function-failed"] == "True"
    assert body == {"message": "An unexpected error occurred in scoring script. Check the logs for more info."}
    log = general_service.log()
    assert "request fail-42: run() failed: Traceback" in log
    assert_still_serving(general_service)


def test_scoring_timeout_is_azure_mls_500(general_service: Service) -> None:
    status, headers, body = general_service.score({"op": "sleep", "seconds": 5})
    assert (status, body) == (500, {"message": "Scoring timeout after 1500 ms"})
    assert headers["x-ms-run-function-failed"] == "True"
    assert_still_serving(general_service)


def test_oversized_body_is_413_without_reading_it(general_service: Service) -> None:
    status, _, body = general_service.request("POST", "/score", b"x" * 100_001)
    assert status == 413 and "MAX_REQUEST_BYTES=100000" in json.loads(body)["message"]
    # A huge declared length is refused from the header alone: the body is never sent.
    with socket.create_connection(("127.0.0.1", general_service.port), timeout=10) as raw:
        raw.sendall(b"POST /score HTTP/1.1\r\nHost: t\r\nContent-Length: 5000000000\r\n\r\n{")
        answer = raw.recv(4096).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 413")
    assert_still_serving(general_service)


def test_chunked_body_over_limit_is_413(general_service: Service) -> None:
    def chunks():
        for _ in range(30):
            yield b"y" * 10_000

    connection_status = general_service.request("POST", "/score", b"".join(chunks()))[0]
    assert connection_status == 413
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", general_service.port, timeout=10)
    connection.request("POST", "/score", body=chunks(), encode_chunked=True)
    assert connection.getresponse().status == 413
    connection.close()
    assert_still_serving(general_service)


def test_empty_body_is_400(general_service: Service) -> None:
    status, _, body = general_service.request("POST", "/score", b"")
    assert status == 400 and "JSON" in json.loads(body)["message"]
