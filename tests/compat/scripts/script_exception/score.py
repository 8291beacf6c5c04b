# run() raising: Azure ML answers a generic 500 and keeps the exception text in the log.
import json


def init():
    pass


def run(raw_data):
    request = json.loads(raw_data)
    if request.get("fail") == "key":
        return {}["secret-column"]
    if request.get("fail") == "value":
        raise ValueError("the database password is hunter2")
    return {"ok": True}
