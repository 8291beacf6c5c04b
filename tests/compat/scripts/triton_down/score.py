# A script whose Triton is not there (nothing listens on the port): Azure ML answers 500, the kit 503.
import tritonclient.http as httpclient


def init():
    global client
    client = httpclient.InferenceServerClient("127.0.0.1:9")  # the discard port: nothing listens on loopback


def run(raw_data):
    return {"live": client.is_server_live()}
