# No init(): Azure ML's server refuses to start with this script, and so does the kit.
def run(raw_data):
    return {"length": len(raw_data)}
