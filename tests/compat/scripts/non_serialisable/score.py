# run() returning what the JSON encoder cannot encode (or JSON has no word for: NaN, infinities).
import datetime
import json

import numpy as np


def init():
    pass


def run(raw_data):
    kind = json.loads(raw_data)["kind"]
    if kind == "object":
        return object()
    if kind == "set":
        return {"values": {1, 2}}
    if kind == "numpy":
        return np.arange(3)
    if kind == "str":
        return "just a string"
    if kind == "nan":
        return {"a": float("nan"), "b": [float("inf"), -float("inf"), 1.5], "c": None}
    if kind == "datetime":
        return {"at": datetime.datetime(2024, 1, 2, 3, 4, 5), "day": datetime.date(2024, 1, 2)}
    if kind == "none":
        return None
    return [1, "two", 3.5, True, None]
