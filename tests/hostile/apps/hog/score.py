# An entry script whose "hog" request allocates without bound (a runaway run()); anything else is a normal request.
import json

import numpy as np

from scoring.triton import client

hoard = []


def init():
    pass


def run(raw_data):
    request = json.loads(raw_data)
    if request.get("op") == "hog":
        while True:  # 16 MB at a time, kept alive, until the worker's memory cap stops it
            hoard.append(np.ones(1 << 21))
    batch = np.asarray(request["data"], dtype=np.float32)
    return {"probabilities": client().infer_numpy("mlp", {"x": batch}, ["probabilities"])["probabilities"]}
