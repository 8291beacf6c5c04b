# A test entry script that takes the raw request (e.g. an uploaded image) through the @rawhttp decorator.
import hashlib

from scoring import rawhttp


def init():
    pass


@rawhttp
def run(request):
    return {
        "method": request.method,
        "bytes": len(request.data),
        "sha256": hashlib.sha256(request.data).hexdigest(),
        "content_type": request.headers.get("content-type"),
        "args": dict(request.args),
    }
