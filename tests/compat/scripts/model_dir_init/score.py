# init() reading a registered model folder through AZUREML_MODEL_DIR; run() answers from it.
import json
import os


def init():
    global labels
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "models", "labels.txt")) as handle:
        labels = handle.read().split()


def run(raw_data):
    return {"label": labels[json.loads(raw_data)["index"]]}
