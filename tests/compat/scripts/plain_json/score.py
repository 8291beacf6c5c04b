# Undecorated run(raw_data): the body as a str, or a GET's query parameters as a JSON object string.
import json


def init():
    pass


def run(raw_data):
    data = json.loads(raw_data)
    return {"received": data, "type": type(data).__name__}
