# AMLResponse in every form Azure ML allows: text, bytes, JSON, None, any status and content type, repeated headers.
import json

from azureml.contrib.services.aml_response import AMLResponse


def init():
    pass


def run(raw_data):
    kind = json.loads(raw_data)["kind"]
    if kind == "text":
        return AMLResponse("plain text answer", 200)
    if kind == "text_typed":
        return AMLResponse("label: cat", 200, {"Content-Type": "text/plain"})
    if kind == "bytes":
        return AMLResponse(b"\xff\xd8\xff\xe0fake-jpeg", 200, {"Content-Type": "image/jpeg"})
    if kind == "json":
        return AMLResponse({"a": [1, 2.5, "x"], "b": None}, 201, json_str=True)
    if kind == "none":
        return AMLResponse(None, 202)
    if kind == "no_content":
        return AMLResponse("", 204)
    if kind == "none_no_content":  # Azure ML's {} body is dropped: a 204 carries none
        return AMLResponse(None, 204, {"X-Single": "yes"})
    if kind == "not_modified":  # a 304 also drops its entity headers (Content-Type)
        return AMLResponse(None, 304, {"X-Single": "yes"})
    if kind == "headers":
        return AMLResponse("ok", 200, {"X-Custom": "one, two", "X-Single": "yes"})
    if kind == "server_error":
        return AMLResponse({"message": "model said no"}, 503, json_str=True)
    if kind == "flagged":
        return AMLResponse("flagged", 200, run_function_failed=True)
    return AMLResponse("teapot", 418)
