"""Containers as Azure ML runs them: each in its own network namespace (network_mode=none) with Triton on
127.0.0.1:8000 inside, several at once; a script that opens its own tritonclient.http.InferenceServerClient
("localhost:8000") and reads its registered model folder through AZUREML_MODEL_DIR passes the smoke test and serves
through `make run`'s loopback relay."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import docker
import pytest
import yaml

from kit import PROJECT_ROOT
from kit.docker.containers import free_port, running
from kit.docker.isolated import isolated_run
from kit.pipeline import build_all
from kit.run.local_run import has_default_bridge
from kit.verify.smoke import triton_ready_inside, wait_until_ready
from kit.verify.transport import request
from scoring import settings

pytestmark = pytest.mark.docker
READY_TIMEOUT_S = settings.default("TRITON_READY_TIMEOUT")
AML_EXAMPLE = PROJECT_ROOT / "images" / "aml-digits"
NAME = "own-client-digits"
# The aml-digits flow without the azureml imports: its onnxruntimetriton helper opens its own client to
# localhost:8000, labels come from $AZUREML_MODEL_DIR/models. Independent of the in-image azureml modules.
OWN_CLIENT_SCRIPT = """
import json
import os

import numpy as np
from onnxruntimetriton import InferenceSession


def init():
    global session, labels
    session = InferenceSession(path_or_bytes="digits")
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "models", "triton", "digits", "labels.txt")) as file:
        labels = file.read().split("\\n")


def run(raw_data):
    pixels = np.asarray(json.loads(raw_data)["data"], dtype=np.float32).reshape(1, 64)
    (probabilities,) = session.run([session.get_outputs()[0].name], {session.get_inputs()[0].name: pixels})
    label = int(np.argmax(probabilities[0]))
    return {"label": label, "name": labels[label]}
"""


@pytest.fixture(scope="module")
def own_client_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("own-client") / NAME


@pytest.fixture(scope="module")
def own_client_image(docker_client: docker.DockerClient, own_client_folder: Path) -> str:
    folder = own_client_folder
    shutil.copytree(AML_EXAMPLE, folder)
    (folder / "score.py").write_text(OWN_CLIENT_SCRIPT)
    spec_path = folder / "image.yaml"
    data = yaml.safe_load(spec_path.read_text())
    data.update(name=NAME, conda_file=None, requirements=[])
    data["samples"] = [s for s in data["samples"] if s["name"] == "json-pixels"]
    data = {key: value for key, value in data.items() if value is not None}
    spec_path.write_text(yaml.safe_dump(data))
    (outcome,) = build_all(docker_client, [str(folder)], "cpu")
    assert not outcome.error, outcome.error
    assert outcome.report is not None and outcome.report.samples_passed == 1
    return f"{NAME}:1.0.0"


def test_this_engine_has_no_default_bridge(docker_client: docker.DockerClient) -> None:
    # The detection `make run` relies on; this machine's engine runs with --bridge=none.
    assert not has_default_bridge(docker_client)


def test_model_folder_keeps_azure_ml_layout_in_the_image(docker_client: docker.DockerClient, own_client_image) -> None:
    env = docker_client.images.get(own_client_image).attrs["Config"]["Env"]
    assert "AZUREML_MODEL_DIR=/var/azureml-app/azureml-models/digits-model/1" in env
    assert "TRITON_MODEL_REPOSITORY=models/triton" in env
    listing = docker_client.containers.run(
        own_client_image, ["-c", "ls /var/azureml-app/azureml-models/digits-model/1/models/triton/digits"],
        entrypoint="sh", network_mode="none", remove=True,
    )  # fmt: skip
    assert listing.decode().split() == ["1", "labels.txt"]


def test_several_containers_each_with_triton_on_localhost_8000(docker_client, own_client_image) -> None:
    body = (AML_EXAMPLE / "samples" / "pixels.json").read_bytes()
    expected = json.loads((AML_EXAMPLE / "samples" / "pixels.expected.json").read_text())
    with ExitStack() as stack:
        started = []
        for index in range(2):
            isolated = stack.enter_context(isolated_run(f"triton-kit-test-isolated-{index}"))
            name = f"triton-kit-test-isolated-{os.getpid()}-{index}"
            container = stack.enter_context(running(docker_client, own_client_image, name=name, **isolated.options))
            started.append((container, isolated.socket_path))
        for container, socket_path in started:
            wait_until_ready(container, socket_path, READY_TIMEOUT_S)
        for container, socket_path in started:
            assert container.attrs["HostConfig"]["NetworkMode"] == "none"
            assert triton_ready_inside(container, "http://127.0.0.1:8000/v2/health/ready")  # as scripts call it
            status, _, answer = request(socket_path, "POST", "/score", body, {"Content-Type": "application/json"})
            assert (status, json.loads(answer)) == (200, expected)
    assert not [network.name for network in docker_client.networks.list() if network.name not in ("host", "none")]


def test_make_run_serves_through_the_loopback_relay_and_cleans_up(
    docker_client, own_client_image, own_client_folder: Path
) -> None:
    port = free_port()
    command = [sys.executable, "build.py", "run", str(own_client_folder), "--port", str(port)]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            output.append(line)
            if f"scoring URI: http://127.0.0.1:{port}/score" in line or not line:
                break
        assert f"scoring URI: http://127.0.0.1:{port}/score" in "".join(output), "".join(output)
        body = (AML_EXAMPLE / "samples" / "pixels.json").read_bytes()
        status, _, answer = request(port, "POST", "/score", body, {"Content-Type": "application/json"})
        expected = json.loads((AML_EXAMPLE / "samples" / "pixels.expected.json").read_text())
        assert (status, json.loads(answer)) == (200, expected)
        (container,) = docker_client.containers.list(filters={"name": f"triton-kit-run-{port}"})
        assert container.attrs["HostConfig"]["NetworkMode"] == "none"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert not docker_client.containers.list(all=True, filters={"name": f"triton-kit-run-{port}"})
