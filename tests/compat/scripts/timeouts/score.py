# run() past SCORING_TIMEOUT_MS, CPU-bound (never yields) or waiting.
import json
import time


def init():
    pass


def run(raw_data):
    request = json.loads(raw_data)
    seconds = float(request.get("seconds", 0))
    if request.get("entered"):  # tells a test that run() has begun
        open(request["entered"], "w").close()
    if request.get("kind") == "cpu":
        deadline = time.monotonic() + seconds
        count = 0
        while time.monotonic() < deadline:
            count += 1
        return {"spun": True}
    time.sleep(seconds)
    return {"slept": seconds}
