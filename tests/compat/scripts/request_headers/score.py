# run(data, request_headers): Azure ML passes the request's headers as a dict.
def init():
    pass


def run(data, request_headers):
    names = ("X-Custom", "Content-Type", "X-Ms-Client-Request-Id")
    return {"data": data, "headers": {name: request_headers.get(name) for name in names}}
