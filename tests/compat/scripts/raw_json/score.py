# @rawhttp reading JSON through request.json and get_json().
from azureml.contrib.services.aml_request import rawhttp


def init():
    pass


@rawhttp
def run(request):
    if request.args.get("mode") == "silent":
        return {"silent": request.get_json(silent=True), "forced": request.get_json(force=True, silent=True)}
    return {"json": request.json, "again": request.get_json()}
