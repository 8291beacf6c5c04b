# init() fails: the worker must exit with code 3 and the container (supervisor) must stop with the traceback logged.
def init():
    raise RuntimeError("init exploded: model file missing")


def run(raw_data):
    return raw_data
