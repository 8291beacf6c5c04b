# @rawhttp with Azure ML's own imports: raw bytes in (e.g. a JPEG), a text answer out.
import hashlib

from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse


def init():
    pass


@rawhttp
def run(request: AMLRequest):
    if request.method != "POST":
        return AMLResponse(f"{request.method} is not supported", 405)
    body = request.get_data(as_text=False)
    label = "jpeg" if body[:3] == b"\xff\xd8\xff" else "other"
    text = f"{label} {len(body)} {hashlib.sha256(request.data).hexdigest()[:16]} {request.headers.get('content-type')}"
    return AMLResponse(text, 200, {"Content-Type": "text/plain; charset=utf-8"})
