# An app that ships its own swagger.json, which /swagger.json must serve instead of the generated one.
def init():
    pass


def run(raw_data):
    return {"length": len(raw_data)}
