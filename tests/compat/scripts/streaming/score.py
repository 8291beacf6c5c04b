# Streamed answers (Azure ML's tests/azmlinfsrv/resources/streaming-score.py, extended): AMLResponse(generator, ...).
# A "dir" in the request turns on the handshake: chunk N+1 is produced only once the client has written ack-N there
# (so a server that buffered the stream would leave the generator waiting, and the test would see "no ack").
import json
import time
from pathlib import Path

from azureml.contrib.services.aml_response import AMLResponse

ACK_WAIT_S = 20  # bounded: a missing ack ends the stream with a marker the test rejects, never a hang


def init():
    pass


def acked(folder, index):
    if folder is None or index < 0:
        return True
    deadline = time.monotonic() + ACK_WAIT_S
    while not (folder / f"ack-{index}").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def chunks(folder, texts, fail_at=None, pause_s=0.0):
    for index, text in enumerate(texts):
        if not acked(folder, index - 1):
            yield "no ack\n"
            return
        if index == fail_at:
            raise RuntimeError("the model failed mid-stream")
        time.sleep(pause_s)
        yield text


def forever(folder):
    try:
        index = 0
        while index < 4000:  # bounded: about 40 s if nobody ever stops it
            yield f"tick {index}\n"
            index += 1
            time.sleep(0.01)
    finally:
        (folder / "generator-closed").write_text(str(index))


def run(raw_data):
    request = json.loads(raw_data)
    kind, folder = request["kind"], Path(request["dir"]) if request.get("dir") else None
    words = [f"token {index}\n" for index in range(4)]
    if kind == "text":
        return AMLResponse(chunks(folder, words), 200)
    if kind == "bytes":
        return AMLResponse(chunks(folder, [word.encode() for word in words]), 200, {"Content-Type": "text/plain"})
    if kind == "sse":
        events = [f"data: {json.dumps({'token': index})}\n\n" for index in range(3)] + ["data: [DONE]\n\n"]
        return AMLResponse(chunks(folder, events), 200, {"Content-Type": "text/event-stream", "X-Single": "sse"})
    if kind == "raises":
        return AMLResponse(chunks(folder, words, fail_at=2), 200)
    if kind == "raises-first":
        return AMLResponse(chunks(folder, words, fail_at=0), 200)
    if kind == "slow":  # longer in all than SCORING_TIMEOUT_MS: the timeout bounds run(), not the stream
        return AMLResponse(chunks(folder, words, pause_s=0.6), 200)
    if kind == "empty":
        return AMLResponse(chunks(folder, []), 200)
    if kind == "empty-chunks":
        return AMLResponse(iter(["a", b"", "", "b"]), 200)
    if kind == "not-text":
        return AMLResponse(iter(["a", 5, "b"]), 200)
    if kind == "failed":
        return AMLResponse(chunks(folder, words[:2]), 503, run_function_failed=False)
    if kind == "no-content":
        return AMLResponse(chunks(folder, words), 204)
    if kind == "list":
        return AMLResponse(["a", b"b", "c"], 200)
    if kind == "dict":
        return AMLResponse({"x": 1, "y": 2}, 200)
    if kind == "number":
        return AMLResponse(5, 200)
    if kind == "forever":
        return AMLResponse(forever(folder), 200)
    return AMLResponse(chunks(folder, ["unknown kind"]), 400)
