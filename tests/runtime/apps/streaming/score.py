# Streamed answers through the kit's own Response and Azure ML's AMLResponse: one Triton call per chunk (a large result
# written in parts), a client that leaves, a failure mid-stream, and a 204. "dir": where acks and markers go.
import json
import logging
import time
from pathlib import Path

import numpy as np
from azureml.contrib.services.aml_response import AMLResponse

from scoring import Response
from scoring.triton import client

log = logging.getLogger("score")
ACK_WAIT_S = 20


def init():
    pass


def acked(folder, index):
    if folder is None:  # no handshake asked for (the smoke test's samples)
        return True
    deadline = time.monotonic() + ACK_WAIT_S
    while index >= 0 and not (folder / f"ack-{index}").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def doubled_rows(folder, rows):
    for index, row in enumerate(rows):
        if not acked(folder, index - 1):
            yield "no ack\n"
            return
        log.info("streaming row %d", index)
        values = client().infer_numpy("doubler", {"VALUES": np.asarray([row], dtype=np.float32)})["DOUBLED"]
        yield json.dumps({"row": index, "doubled": values.tolist()[0]}) + "\n"


def ticks(folder):
    try:
        for index in range(4000):
            yield f"tick {index}\n"
            time.sleep(0.01)
    finally:
        (folder / "generator-closed").write_text("closed")


def fails(folder):
    yield "first\n"
    raise RuntimeError("the secret model path /models/x failed")


def run(raw_data):
    request = json.loads(raw_data)
    kind, folder = request["kind"], Path(request["dir"]) if request.get("dir") else None
    if kind == "rows":
        return Response(doubled_rows(folder, request["rows"]), content_type="application/x-ndjson")
    if kind == "ticks":
        return AMLResponse(ticks(folder), 200)
    if kind == "fails":
        return AMLResponse(fails(folder), 200)
    return AMLResponse(None, 204)
