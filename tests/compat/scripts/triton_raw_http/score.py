# A script that calls Triton over plain HTTP (KServe v2 JSON), no client library.
import json
import os
import urllib.request


def init():
    global url
    url = f"http://{os.environ.get('TRITON_URL', 'localhost:8000')}/v2/models/doubler/infer"


def run(raw_data):
    values = json.loads(raw_data)["values"]
    payload = {"inputs": [{"name": "VALUES", "shape": [1, len(values)], "datatype": "FP32", "data": values}]}
    request = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        outputs = json.loads(answer.read())["outputs"]
    return {output["name"]: output["data"] for output in outputs}
