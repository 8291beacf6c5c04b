# @rawhttp reading a multipart upload: request.files and request.form.
import hashlib

from azureml.contrib.services.aml_request import rawhttp


def init():
    pass


@rawhttp
def run(request):
    files = {
        name: {
            "filename": upload.filename,
            "content_type": upload.content_type,
            "sha256": hashlib.sha256(upload.read()).hexdigest(),
        }
        for name, upload in request.files.items()
    }
    return {"files": files, "form": dict(request.form), "tags": request.form.getlist("tag")}
