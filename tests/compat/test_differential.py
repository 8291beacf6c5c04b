"""The same entry scripts and requests against Azure ML's server and the kit's runtime: status, body and contract
headers must match, except for the fixed allow-list DELIBERATE (each asserted, each explained in
docs/azureml-differences.md). Streamed answers, a client that leaves and a script without init(): test_streaming.py.

Coverage of issue 10, item 1 (scripts in tests/compat/scripts/):
| item 1 bullet                                        | scripts                                                   |
|------------------------------------------------------|-----------------------------------------------------------|
| aml_request: rawhttp, AMLRequest (method, get_data,  | raw_bytes, rawhttp_get, raw_json, raw_multipart           |
|   data, headers, args get/getlist, json/get_json,    |                                                           |
|   files/form, full_path, url)                        |                                                           |
| aml_response: AMLResponse bytes/str/JSON, any status | aml_response, raw_bytes                                   |
|   (204 too), content types, x-ms-run-function-failed |                                                           |
| inference_schema: decoded arguments, 4xx on bad      | schema_standard, schema_numpy, schema_defaults            |
|   input, /swagger.json schemas                       |                                                           |
| Model.get_model_path inside AZUREML_MODEL_DIR        | model_dir_init (AZUREML_MODEL_DIR); get_model_path itself |
|                                                      |   in test_model_path.py (the peer ships no azureml-core)  |
| run(data, request_headers), GET query decoding       | request_headers, schema_defaults, plain_json              |
| header echoes, x-ms-server-version, 431              | plain_json                                                |
| failures: exceptions, non-serialisable, malformed    | script_exception, non_serialisable, plain_json, timeouts  |
|   input, timeouts (I/O and CPU-bound)                |                                                           |
| Triton from the script (tritonclient, raw HTTP,      | triton_client, triton_raw_http, tritonhttpclient_seed,    |
|   tritonhttpclient), Triton unreachable              |   triton_down                                             |
| issue 23: AMLResponse(None, 204), 304, NaN, datetime | aml_response, non_serialisable; streaming and no_init in  |
|   streamed answers, a script without init()         |   test_streaming.py                                       |
"""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.compat.conftest import MAX_REQUEST_BYTES, SCORING_TIMEOUT_MS, Server
from tests.support.waiting import wait_until

CONTRACT_HEADERS = ("content-type", "x-ms-run-function-failed", "x-request-id", "x-ms-request-id",
                    "x-ms-client-request-id", "traceid", "x-ms-server-version", "x-custom", "x-single",
                    "transfer-encoding")  # fmt: skip
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
SCRIPT_FAILED = {"message": "An unexpected error occurred in scoring script. Check the logs for more info."}
INTERNAL_ERROR = {"message": "An unexpected internal error occurred. Check the logs for more info."}
TIMEOUT = {"message": f"Scoring timeout after {SCORING_TIMEOUT_MS} ms"}


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: object  # parsed JSON for JSON answers, else bytes

    @classmethod
    def of(cls, raw: tuple[int, list[tuple[str, str]], bytes], sent: dict[str, str]) -> Answer:
        status, header_list, body = raw
        headers: dict[str, str] = {}
        for name, value in header_list:
            name = name.lower()
            if name in CONTRACT_HEADERS:
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            if name == "x-ms-run-fn-exec-ms":  # a duration
                headers[name] = "<present>" if float(value) >= 0 else value
            if name == "x-ms-server-version":  # azmlinfsrv/1.5.1 there, triton-kit-scoring/1 here
                headers[name] = "<present>" if value else value
            if name == "content-length":  # present or not (a 204 has none); JSON spacing makes the values differ
                headers[name] = "<present>"
        for name in ("x-request-id", "x-ms-request-id"):  # generated ids differ by nature: compare their shape
            if name in headers and UUID.match(headers[name]) and "x-request-id" not in {k.lower() for k in sent}:
                headers[name] = "<uuid>"
        parsed: object = body
        if headers.get("content-type", "").startswith("application/json") and body:
            parsed = json.loads(body, parse_constant=lambda word: f"<{word}>")  # NaN != NaN: compare the words
        return cls(status, headers, parsed)


@dataclass(frozen=True)
class Case:
    script: str
    name: str
    method: str = "POST"
    path: str = "/score"
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    deviation: str | None = None

    @property
    def id(self) -> str:
        return f"{self.script}:{self.name}"


def post(script: str, name: str, payload: object, **extra: object) -> Case:
    headers = {"Content-Type": "application/json", "x-request-id": f"req-{script}-{name}"}
    headers.update(extra.pop("headers", {}))  # type: ignore[arg-type]
    return Case(script, name, body=json.dumps(payload).encode(), headers=headers, **extra)  # type: ignore[arg-type]


def raw(script: str, name: str, method: str, path: str, body: bytes | None, headers: dict[str, str], **extra) -> Case:
    return Case(script, name, method, path, body, {"x-request-id": f"req-{script}-{name}", **headers}, **extra)


MULTIPART = (
    b'--XyZ\r\nContent-Disposition: form-data; name="tag"\r\n\r\nfirst\r\n'
    b'--XyZ\r\nContent-Disposition: form-data; name="tag"\r\n\r\nsecond\r\n'
    b'--XyZ\r\nContent-Disposition: form-data; name="image"; filename="cat.jpg"\r\n'
    b"Content-Type: image/jpeg\r\n\r\n" + JPEG + b"\r\n--XyZ--\r\n"
)

CASES = [
    # undecorated run(str), GET decoding, correlation headers
    post("plain_json", "object", {"a": 1, "b": [1, 2]}),
    post("plain_json", "string", "text"),
    raw("plain_json", "get-query", "GET", "/score?a=1&b=[1,2]&c=x&d=null&e=1&e=2", None, {}),
    raw("plain_json", "get-empty", "GET", "/score", None, {}),
    raw("plain_json", "options", "OPTIONS", "/score", None, {}),
    raw("plain_json", "generated-request-id", "POST", "/score", b"{}", {}),
    post("plain_json", "ms-request-id", {}, headers={"x-ms-request-id": "legacy-1"}),
    post("plain_json", "ms-client-request-id", {}, headers={"x-ms-client-request-id": "client-1"}),
    post("plain_json", "both-ms-ids", {}, headers={"x-ms-request-id": "legacy-2", "x-ms-client-request-id": "c-2"}),
    post("plain_json", "trace-id", {}, headers={"TraceId": "trace-7"}),
    post("plain_json", "request-id-100", {}, headers={"x-request-id": "r" * 100}),
    post("plain_json", "request-id-101", {}, headers={"x-request-id": "r" * 101}),
    post("plain_json", "client-id-101", {}, headers={"x-ms-client-request-id": "c" * 101}),
    raw("plain_json", "bad-utf8", "POST", "/score", b"\xff\xfe", {"Content-Type": "text/plain"}),
    raw("plain_json", "liveness", "GET", "/", None, {}),
    raw("plain_json", "liveness-head", "HEAD", "/", None, {}),
    raw("plain_json", "score-head", "HEAD", "/score", None, {}),
    raw("plain_json", "malformed-json", "POST", "/score", b"{nope", {}, deviation="malformed-json-400"),
    raw(
        "plain_json",
        "oversized",
        "POST",
        "/score",
        b'"' + b"x" * MAX_REQUEST_BYTES + b'"',
        {},
        deviation="body-limit-413",
    ),
    raw("plain_json", "unknown-route", "GET", "/nope", None, {}, deviation="routing-messages"),
    raw("plain_json", "wrong-method", "PUT", "/score", b"{}", {}, deviation="routing-messages"),
    raw("plain_json", "ready", "GET", "/ready", None, {}, deviation="ready-route"),
    raw("plain_json", "swagger", "GET", "/swagger.json", None, {}, deviation="swagger-document"),
    # run(data, request_headers)
    post("request_headers", "post", {"x": 1}, headers={"X-Custom": "abc"}),
    raw("request_headers", "get", "GET", "/score?x=2", None, {"x-ms-client-request-id": "cid"}),
    # @rawhttp
    raw("raw_bytes", "jpeg", "POST", "/score", JPEG, {"Content-Type": "application/octet-stream"}),
    raw("raw_bytes", "text-body", "POST", "/score", b"hello", {"Content-Type": "text/plain"}),
    raw("raw_bytes", "get", "GET", "/score", None, {}),
    raw("rawhttp_get", "query", "GET", "/score?k=1&k=2&n=42&q=a%20b", None, {"x-case-test": "Yes"}),
    raw("rawhttp_get", "post-text", "POST", "/score?n=nan", "héllo".encode(), {"Content-Type": "text/plain"}),
    raw("rawhttp_get", "options", "OPTIONS", "/score", None, {}),
    post("raw_json", "json", {"a": [1, 2]}),
    raw("raw_json", "silent", "POST", "/score?mode=silent", b'{"b": 1}', {"Content-Type": "text/plain"}),
    raw("raw_json", "not-json-type", "POST", "/score", b'{"b": 1}', {"Content-Type": "text/plain"}),
    raw("raw_multipart", "upload", "POST", "/score", MULTIPART, {"Content-Type": "multipart/form-data; boundary=XyZ"}),
    raw(
        "raw_multipart",
        "form-urlencoded",
        "POST",
        "/score",
        b"tag=a&tag=b&x=1",
        {"Content-Type": "application/x-www-form-urlencoded"},
    ),
    # AMLResponse
    *[
        post("aml_response", kind, {"kind": kind})
        for kind in (
            "text",
            "text_typed",
            "bytes",
            "json",
            "none",
            "no_content",
            "none_no_content",
            "not_modified",
            "headers",
            "server_error",
            "flagged",
            "teapot",
        )
    ],
    # inference_schema
    post("schema_standard", "good", {"count": 2, "name": "dog"}),
    post("schema_standard", "missing-param", {"count": 2}),
    post("schema_standard", "not-a-dict", [1, 2]),
    raw("schema_standard", "empty-body", "POST", "/score", b"", {"Content-Type": "application/json"}),
    raw("schema_standard", "bad-json", "POST", "/score", b"{x", {"Content-Type": "application/json"}),
    raw(
        "schema_standard", "wrong-type", "POST", "/score", b'{"count": 1, "name": "a"}', {"Content-Type": "text/plain"}
    ),
    raw("schema_standard", "get", "GET", "/score?count=3&name=x", None, {}),
    raw("schema_standard", "swagger", "GET", "/swagger.json", None, {}, deviation="swagger-document"),
    post("schema_numpy", "good", {"data": [[1.5, 2.5, 3.0], [1, 1, 1]]}),
    post("schema_numpy", "ragged", {"data": [[1.5], [1, 2]]}),
    post("schema_numpy", "strings", {"data": "abc"}),
    raw("schema_numpy", "swagger", "GET", "/swagger.json", None, {}, deviation="swagger-document"),
    post("schema_defaults", "default", {"values": [1, 2]}, headers={"X-Custom": "h"}),
    post("schema_defaults", "given", {"values": [1], "scale": 3}),
    # failures
    post("script_exception", "ok", {}),
    post("script_exception", "key-error", {"fail": "key"}),
    post("script_exception", "value-error", {"fail": "value"}),
    post("non_serialisable", "object", {"kind": "object"}),
    post("non_serialisable", "set", {"kind": "set"}),
    post("non_serialisable", "str", {"kind": "str"}),
    post("non_serialisable", "none", {"kind": "none"}),
    post("non_serialisable", "list", {"kind": "list"}),
    post("non_serialisable", "numpy", {"kind": "numpy"}, deviation="numpy-results"),
    post("non_serialisable", "nan", {"kind": "nan"}),
    post("non_serialisable", "datetime", {"kind": "datetime"}, deviation="datetime-results"),
    post("timeouts", "fast", {"seconds": 0.01}),
    post("timeouts", "sleep", {"seconds": 5}),
    post("timeouts", "cpu-bound", {"seconds": 5, "kind": "cpu"}),
    post("timeouts", "after", {"seconds": 0}),
    # Triton called from the script
    post("triton_client", "infer", {"data": [[0.1] * 8, [0.9] * 8]}),
    post("triton_client", "wrong-shape", {"data": [[0.1] * 5]}, deviation="triton-bad-input-400"),
    post("triton_raw_http", "infer", {"values": [1, 2, 3, 4]}),
    post("tritonhttpclient_seed", "infer", {"values": [[1, 2, 3, 4]]}),
    post("model_dir_init", "label", {"index": 2}),
    post("triton_down", "refused", {}, deviation="triton-unavailable-503"),
]


def differs_only_by(kind: str) -> Callable[[Answer, Answer], None]:
    """Each deliberate deviation, asserted as exactly what the README says."""

    def check(peer: Answer, kit: Answer) -> None:
        if kind == "malformed-json-400":  # the kit says why; Azure ML answers 500 as for any exception
            assert (peer.status, peer.body) == (500, SCRIPT_FAILED)
            assert kit.status == 400 and kit.body["message"].startswith("request body is not valid JSON")
            assert kit.headers["x-ms-run-function-failed"] == "False"
        elif kind == "body-limit-413":  # the kit refuses bodies over MAX_REQUEST_BYTES; Azure ML has no limit
            assert peer.status == 200
            assert kit.status == 413 and "MAX_REQUEST_BYTES" in kit.body["message"]
        elif kind == "routing-messages":  # same status; the kit's message names the routes or methods to use
            assert peer.status == kit.status and peer.headers == kit.headers
            assert set(peer.body) == set(kit.body) == {"message"} and peer.body != kit.body
        elif kind == "ready-route":  # the kit's readiness route (Triton ready?) does not exist on Azure ML's server
            assert peer.status == 404 and (kit.status, kit.body) == (200, {"status": "ready"})
        elif kind == "swagger-document":  # the kit's own document (with /ready), with Azure ML's schema definitions
            assert peer.status == kit.status == 200
            for name in ("ServiceInput", "ServiceOutput"):
                assert kit.body["definitions"][name] == peer.body["definitions"][name]
        elif kind == "numpy-results":  # the kit encodes numpy arrays and scalars; Azure ML's json.dumps cannot
            assert (peer.status, peer.body) == (500, INTERNAL_ERROR)
            assert (kit.status, kit.body) == (200, [0, 1, 2])
        elif kind == "datetime-results":  # the kit encodes dates and times as ISO 8601; Azure ML's json.dumps cannot
            assert (peer.status, peer.body) == (500, INTERNAL_ERROR)
            assert (kit.status, kit.body) == (200, {"at": "2024-01-02T03:04:05", "day": "2024-01-02"})
        elif kind == "triton-bad-input-400":  # Triton refused the tensors the client sent: Triton's reason, as a 400
            assert (peer.status, peer.body) == (500, SCRIPT_FAILED)
            assert kit.status == 400 and kit.body["message"].startswith("Triton rejected the request: ")
        elif kind == "triton-unavailable-503":  # the kit tells an unreachable Triton from a failing script
            assert (peer.status, peer.body) == (500, SCRIPT_FAILED)
            assert kit.status == 503 and kit.body["message"].startswith("Triton at ")
            assert kit.headers["x-ms-run-function-failed"] == "False"
        else:
            raise AssertionError(f"unknown deviation {kind}")

    return check


DELIBERATE = {"malformed-json-400", "body-limit-413", "routing-messages", "ready-route", "swagger-document",
              "numpy-results", "datetime-results", "triton-unavailable-503", "triton-bad-input-400"}  # fmt: skip


def ask(server: Server, case: Case) -> Answer:
    return Answer.of(server.request(case.method, case.path, case.body, case.headers), case.headers)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_same_answer_as_azure_ml(case: Case, pairs: dict) -> None:
    peer_server, kit_server = pairs[case.script]
    peer, kit = ask(peer_server, case), ask(kit_server, case)
    if case.deviation is None:
        assert kit == peer, f"\npeer: {peer}\nkit:  {kit}"
    else:
        assert case.deviation in DELIBERATE
        assert kit != peer, f"{case.id} no longer deviates: drop {case.deviation} from it"
        differs_only_by(case.deviation)(peer, kit)


SPOT_CHECKS = {  # identical answers that must also be the intended ones, not one failure seen on both sides
    "plain_json:object": (200, {"received": {"a": 1, "b": [1, 2]}, "type": "dict"}),
    "raw_bytes:jpeg": (200, f"jpeg {len(JPEG)} ".encode()),
    "aml_response:no_content": (204, b""),
    "aml_response:none_no_content": (204, b""),
    "aml_response:not_modified": (304, b""),
    "non_serialisable:nan": (200, {"a": "<NaN>", "b": ["<Infinity>", "<-Infinity>", 1.5], "c": None}),
    "aml_response:server_error": (503, {"message": "model said no"}),
    "schema_standard:good": (200, {"greeting": "dog dog"}),
    "schema_standard:missing-param": (400, {"message": "A value is not provided for the 'name' parameter."}),
    "schema_standard:wrong-type": (415, {"message": "Expects Content-Type to be application/json"}),
    "schema_numpy:good": (200, {"sum": 10.0, "shape": [2, 3], "dtype": "float32"}),
    "script_exception:value-error": (500, SCRIPT_FAILED),
    "non_serialisable:object": (500, INTERNAL_ERROR),
    "timeouts:sleep": (500, TIMEOUT),
    "timeouts:cpu-bound": (500, TIMEOUT),
    "triton_client:infer": (200, {"labels": None, "ready": True}),
    "triton_raw_http:infer": (200, {"DOUBLED": [2.0, 4.0, 6.0, 8.0], "TOTAL": [10.0]}),
    "tritonhttpclient_seed:infer": (200, {"doubled": [[2.0, 4.0, 6.0, 8.0]]}),
    "model_dir_init:label": (200, {"label": "bird"}),
}


@pytest.mark.parametrize("case_id", sorted(SPOT_CHECKS))
def test_identical_answers_are_the_intended_ones(case_id: str, pairs: dict) -> None:
    (case,) = [case for case in CASES if case.id == case_id]
    answer = ask(pairs[case.script][1], case)
    status, expected = SPOT_CHECKS[case_id]
    assert answer.status == status, answer
    if expected == b"":  # a status that forbids a body: none, and no length
        assert answer.body == b"" and "content-length" not in answer.headers, answer
    elif isinstance(expected, bytes):
        assert isinstance(answer.body, bytes) and answer.body.startswith(expected), answer
    elif isinstance(expected, dict) and None in expected.values():
        assert {key for key, value in expected.items() if value is not None} <= set(answer.body), answer
    else:
        assert answer.body == expected, answer
    if status >= 500:
        assert answer.headers["x-ms-run-function-failed"] == ("False" if expected == INTERNAL_ERROR else "True")


def test_a_cpu_bound_run_holds_other_requests_no_longer_than_the_timeout(pairs: dict, tmp_path: Path) -> None:
    """One gevent worker: a run() spinning for 60 s is cut at SCORING_TIMEOUT_MS, so a request behind it is served
    long before the spin would have ended (the 30 s client limit is a liveness bound, not a measurement)."""
    _, kit = pairs["timeouts"]
    entered = tmp_path / "spinning"
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        body = json.dumps({"seconds": 60, "kind": "cpu", "entered": str(entered)}).encode()
        spinning = pool.submit(kit.request, "POST", "/score", body, {})
        wait_until(entered.exists, what="the spinning run() begun")
        connection = http.client.HTTPConnection("127.0.0.1", kit.port, timeout=30)
        connection.request("POST", "/score", b'{"seconds": 0}')
        behind = connection.getresponse()
        assert (behind.status, json.loads(behind.read())) == (200, {"slept": 0.0})
        connection.close()
        status, _, body = spinning.result(timeout=30)
        assert (status, json.loads(body)) == (500, TIMEOUT)
