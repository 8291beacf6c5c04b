"""`make run IMAGE=name`: start one tested image, print how to call it, remove it on Ctrl-C, SIGTERM or SIGHUP.

The container gets its own network namespace either way, so Triton sits on 127.0.0.1:8000 inside it as on Azure ML
(a script's own `InferenceServerClient("localhost:8000")` works). Which way is chosen by detection:
- the engine has its default `bridge` network (an ordinary Docker host): the scoring port is published on
  127.0.0.1:<port>;
- it has none (dockerd --bridge=none, as on this project's build machine): network_mode=none, the scoring app listens
  on a unix socket in a mounted folder, and a loopback relay started here serves 127.0.0.1:<port>.
An image whose models are `mount: true` gets its registered folders bound read-only where the smoke test binds them
(kit/verify/model_mounts.py), straight from the image folder.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from types import FrameType
from typing import Any

from kit.docker import sdk
from kit.docker.containers import log_report, running
from kit.docker.isolated import isolated_run
from kit.docker.sdk import Container
from kit.progress import console
from kit.run.relay import LoopbackRelay
from kit.verify.smoke import wait_until_ready
from scoring import settings


def published_port() -> str:
    """The image's scoring port as Docker names it, from the runtime's declared default."""
    return f"{settings.default('SERVER_PORT')}/tcp"


class StopRequested(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a closed terminal, `timeout`, a CI step): clean up as on Ctrl-C."""


def stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise StopRequested(signal.Signals(signum).name)


def has_default_bridge(docker_client: sdk.DockerClient) -> bool:
    return any(network.name == "bridge" for network in docker_client.networks.list(names=["bridge"]))


@contextmanager
def started(
    docker_client: sdk.DockerClient, image: str, port: int, volumes: dict[str, Any] | None = None
) -> Iterator[Container]:
    """The running container, reachable on 127.0.0.1:`port` (published port or loopback relay); `volumes`: the
    registered model folders to bind read-only (mount: true)."""
    name = f"triton-kit-run-{port}"
    volumes = volumes or {}
    for source, bind in volumes.items():
        console.print(f"run: mounting {source} read-only at {bind['bind']}")
    if has_default_bridge(docker_client):
        console.print("run: default bridge network found: publishing the scoring port")
        with running(
            docker_client,
            image,
            name=name,
            network_mode="bridge",
            ports={published_port(): ("127.0.0.1", port)},
            volumes=volumes,
        ) as container:
            yield container
        return
    console.print("run: no default bridge network: network_mode=none with a loopback relay to the scoring socket")
    with ExitStack() as stack:
        isolated = stack.enter_context(isolated_run("triton-kit-run"))
        stack.enter_context(LoopbackRelay(port, isolated.socket_path))
        options = {**isolated.options, "volumes": {**isolated.options["volumes"], **volumes}}
        yield stack.enter_context(running(docker_client, image, name=name, **options))


def run_locally(docker_client: sdk.DockerClient, image: str, port: int, volumes: dict[str, Any] | None = None) -> None:
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop_on_signal)
    with started(docker_client, image, port, volumes) as container:
        console.print(f"run: started {image} as {container.name}; waiting for readiness")
        seconds = wait_until_ready(container, port, settings.default("TRITON_READY_TIMEOUT"))
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
