# @rawhttp reading the query string, the path and case-insensitive headers.
from azureml.contrib.services.aml_request import rawhttp


def init():
    pass


@rawhttp
def run(request):
    return {
        "method": request.method,
        "args": dict(request.args),
        "k": request.args.get("k"),
        "all_k": request.args.getlist("k"),
        "n": request.args.get("n", type=int),
        "missing": request.args.get("missing", "default"),
        "full_path": request.full_path,
        "path": request.url.split("/", 3)[3],
        "header": request.headers.get("X-CASE-test"),
        "has_header": "x-case-test" in request.headers,
        "text": request.get_data(as_text=True),
    }
