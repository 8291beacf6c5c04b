"""`make run IMAGE=name`: start one tested image, print how to call it, remove it on Ctrl-C, SIGTERM or SIGHUP."""

from __future__ import annotations

import signal
import time
from types import FrameType

import docker

from kit.docker.containers import log_report, running, wait_for_http_ok
from kit.progress import console
from kit.verify.smoke import READY_TIMEOUT_S, loopback_environment


class StopRequested(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a closed terminal, `timeout`, a CI step): clean up as on Ctrl-C."""


def stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise StopRequested(signal.Signals(signum).name)


def run_locally(docker_client: docker.DockerClient, image: str, port: int, triton_port: int) -> None:
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop_on_signal)
    environment = loopback_environment(port, triton_port)
    with running(docker_client, image, environment=environment, name=f"triton-kit-run-{port}") as container:
        console.print(f"run: started {image} as {container.name}; waiting for readiness")
        seconds = wait_for_http_ok(container, f"http://127.0.0.1:{port}/ready", READY_TIMEOUT_S)
        console.print(f"run: ready after {seconds:.1f} s")
        console.print(f"scoring URI: http://127.0.0.1:{port}/score")
        console.print(
            f"try: curl -s -X POST http://127.0.0.1:{port}/score -H 'Content-Type: application/json' -d @request.json"
        )
        console.print("Ctrl-C stops and removes the container")
        try:
            while True:
                container.reload()
                if container.status != "running":
                    code = container.attrs["State"]["ExitCode"]
                    console.print(log_report(container, f"run: container stopped ({code})"), markup=False)
                    return
                time.sleep(1)
        except KeyboardInterrupt:  # also StopRequested
            console.print("run: stopping")
            container.stop(timeout=30)
