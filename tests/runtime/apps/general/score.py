# A test entry script exercising every way run() can answer. The body is JSON: {"op": ..., ...}.
import json
import tempfile
import time

import numpy as np

from scoring import BadRequest, Response
from scoring.triton import client

calls = {"init": 0}


def init():
    calls["init"] += 1


def run(raw_data):
    request = json.loads(raw_data)
    op = request.get("op", "echo")
    if op == "echo":
        return {"echo": request, "init_calls": calls["init"]}
    if op == "infer":
        batch = np.asarray(request["data"], dtype=np.float32)
        return {"probabilities": client().infer_numpy("mlp", {"x": batch}, ["probabilities"])["probabilities"]}
    if op == "double":
        values = np.asarray(request["data"], dtype=np.float32)
        return client().infer_numpy("doubler", {"VALUES": values})
    if op == "wrong_shape":
        return client().infer_numpy("mlp", {"x": np.zeros((1, 5), dtype=np.float32)})
    if op == "fail":
        raise RuntimeError("the scoring function exploded")
    if op == "bad_request":
        raise BadRequest("field 'data' must hold 8 numbers per row")
    if op == "sleep":  # a slow run(): the sleep is the behaviour; "entered" tells the test it has begun
        if request.get("entered"):
            tempfile.mkstemp(dir=request["entered"])
        time.sleep(float(request["seconds"]))
        return {"slept": request["seconds"]}
    if op == "response":
        return Response(body="created", status=201, headers={"x-custom": "yes"}, content_type="text/plain")
    raise BadRequest(f"unknown op {op!r}")
