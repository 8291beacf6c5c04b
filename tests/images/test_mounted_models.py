"""The seed's flow end to end with models mounted at start: the seed-registered folder (a registered folder whose
triton/ holds heavy-mlp's ~34 MB model, score.py with tritonhttpclient on localhost:8000, raw-bytes samples) with a
second registered folder beside it, built once with mount: true and once baked. Both pass the same samples; the
mounted image holds none of the model's bytes, is smaller by at least their size, refuses to start without the mount
(one line), runs under a random uid, and is not rebuilt at all when only the model changes."""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path

import docker
import onnx
import pytest
import yaml

from kit import PROJECT_ROOT
from kit.docker.containers import free_port, running
from kit.pipeline import ImageOutcome, build_all
from kit.release.record import TestedRecord
from kit.run.local_run import started
from kit.spec.image import load_spec
from kit.verify.model_mounts import direct_volumes
from kit.verify.smoke import smoke_test, wait_until_ready
from kit.verify.transport import request
from scoring.layout import MODELS_ROOT
from tests.images.test_examples import remove_images

SEED = PROJECT_ROOT / "images" / "seed-registered"
MODEL = Path("model") / "triton" / "heavy_mlp" / "1" / "model.onnx"
NAMES = [f"class-{index}" for index in range(10)]
# The test's score.py also reads the second registered folder, where Azure ML mounts it with several models.
SECOND_MODEL_LINES = """

def label_names():
    import os

    path = os.path.join(os.environ["AZUREML_MODEL_DIR"], "label-names", "2", "labels", "names.txt")
    with open(path) as names:
        return names.read().split()


_run = run


@rawhttp
def run(request):
    answer = _run(request)
    if isinstance(answer, dict):
        answer["names"] = [label_names()[label] for label in answer["labels"]]
    return answer
"""


def variant(tmp_path: Path, name: str, mount: bool) -> Path:
    folder = tmp_path / name
    shutil.copytree(SEED, folder)
    (folder / "labels").mkdir()
    (folder / "labels" / "names.txt").write_text("\n".join(NAMES) + "\n")
    data = yaml.safe_load((folder / "image.yaml").read_text())
    data["name"] = name
    data["models"] = [
        {"path": "model", "name": "heavy-mlp", "version": 1, "mount": mount},
        {"path": "labels", "name": "label-names", "version": 2, "mount": mount},
    ]
    (folder / "image.yaml").write_text(yaml.safe_dump(data))
    with (folder / "score.py").open("a") as script:
        script.write(SECOND_MODEL_LINES)
    expected = json.loads((folder / "samples" / "expected.json").read_text())
    expected["names"] = [NAMES[label] for label in expected["labels"]]
    (folder / "samples" / "expected.json").write_text(json.dumps(expected))
    return folder


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient
) -> Iterator[dict[str, tuple[Path, ImageOutcome]]]:
    root = tmp_path_factory.mktemp("mounts")
    folders = {
        "mounted": variant(root, "mount-check-mounted", True),
        "baked": variant(root, "mount-check-baked", False),
    }
    try:
        outcomes = {kind: build_all(docker_client, [str(folder)], "cpu")[0] for kind, folder in folders.items()}
        yield {kind: (folders[kind], outcomes[kind]) for kind in folders}
    finally:
        for folder in folders.values():
            remove_images(docker_client, folder.name)


def test_mounted_and_baked_pass_the_same_samples(built: dict[str, tuple[Path, ImageOutcome]]) -> None:
    for kind, (_, outcome) in built.items():
        assert not outcome.error, f"{kind}: {outcome.error}"
        assert outcome.report is not None and outcome.report.samples_passed == outcome.report.samples_total == 2
    assert [m.name for m in built["mounted"][1].report.mounted_models] == ["heavy-mlp", "label-names"]
    assert built["baked"][1].report.mounted_models == []


def test_tested_record_names_the_mounted_files(built: dict[str, tuple[Path, ImageOutcome]]) -> None:
    folder, _ = built["mounted"]
    entry = TestedRecord.read(folder.name)
    assert entry is not None
    model_sha = hashlib.sha256((folder / MODEL).read_bytes()).hexdigest()
    assert entry.mounted_models["heavy-mlp"]["files"] == {"triton/heavy_mlp/1/model.onnx": model_sha}
    assert set(entry.mounted_models["label-names"]["files"]) == {"names.txt"}
    assert TestedRecord.read(built["baked"][0].name).mounted_models == {}


def test_mounted_image_holds_no_model_bytes(
    built: dict[str, tuple[Path, ImageOutcome]], docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    folder, mounted = built["mounted"]
    _, baked = built["baked"]
    model = (folder / MODEL).read_bytes()
    assert len(model) > 30_000_000
    sizes = {
        kind: docker_client.images.get(outcome.build.image_id).attrs["Size"] for kind, (_, outcome) in built.items()
    }
    print(f"image sizes: mounted {sizes['mounted']} bytes, baked {sizes['baked']} bytes")
    assert sizes["baked"] - sizes["mounted"] >= len(model)
    archive = tmp_path / "mounted.tar"
    with archive.open("wb") as stream:
        for chunk in docker_client.images.get(mounted.build.image_id).save():
            stream.write(chunk)
    digest, layers, found = hashlib.sha256(model).hexdigest(), 0, []
    with tarfile.open(archive) as image:
        for member in image.getmembers():
            if not member.name.endswith("layer.tar"):
                continue
            layers += 1
            with tarfile.open(fileobj=image.extractfile(member)) as layer:
                for entry in layer.getmembers():
                    if entry.name.endswith(("model.onnx", "names.txt")):
                        found.append(f"{member.name}: {entry.name}")
                    elif entry.isfile() and entry.size == len(model):
                        data = layer.extractfile(entry)
                        if data is not None and hashlib.sha256(data.read()).hexdigest() == digest:
                            found.append(f"{member.name}: {entry.name} (the model's bytes)")
    assert layers > 3 and found == []
    assert baked.build.image_id != mounted.build.image_id


def test_refuses_to_start_without_the_mount_in_one_line(
    built: dict[str, tuple[Path, ImageOutcome]], docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    _, outcome = built["mounted"]
    empty = tmp_path / "empty"
    (empty / "triton").mkdir(parents=True)
    cases = {
        "not mounted": {},
        "holds no Triton model": {str(empty): {"bind": f"{MODELS_ROOT}/heavy-mlp/1/model", "mode": "ro"}},
    }
    for expected, volumes in cases.items():
        with running(docker_client, outcome.build.image_id, network_mode="none", volumes=volumes) as container:
            assert container.wait(timeout=120)["StatusCode"] == 2
            log = container.logs().decode()
        lines = [line for line in log.splitlines() if line.strip() and "exiting with" not in line]
        assert len(lines) == 1 and expected in lines[0], log
        assert "tritonserver" not in log  # refused before Triton was started


def test_mounted_models_are_readable_by_a_random_uid(
    built: dict[str, tuple[Path, ImageOutcome]], docker_client: docker.DockerClient
) -> None:
    folder, outcome = built["mounted"]
    (folder / "labels" / "names.txt").chmod(0o600)  # the snapshot the smoke test mounts is readable by all
    report = smoke_test(docker_client, outcome.build.image_id, load_spec(folder), folder, user="12345:0")
    assert report.passed, report.failures


def test_model_only_change_rebuilds_nothing_when_mounted(
    built: dict[str, tuple[Path, ImageOutcome]], docker_client: docker.DockerClient
) -> None:
    seconds = {}
    for kind, (folder, first) in built.items():
        model = onnx.load(str(folder / MODEL))
        model.doc_string = "retrained: new bytes, same answers"
        (folder / MODEL).write_bytes(model.SerializeToString())
        (second,) = build_all(docker_client, [str(folder)], "cpu")
        assert not second.error, second.error
        seconds[kind] = second.build_seconds
        steps = second.build.steps
        if kind == "mounted":
            assert all(step.cached for step in steps if not step.instruction.startswith("FROM"))
            assert second.build.image_id == first.build.image_id
            assert second.report.mounted_models[0].digest != first.report.mounted_models[0].digest
        else:
            copy = next(step for step in steps if step.instruction.startswith("COPY models/"))
            assert not copy.cached and second.build.image_id != first.build.image_id
    print(f"rebuild after a model-only change: mounted {seconds['mounted']:.1f} s, baked {seconds['baked']:.1f} s")


def test_make_run_mounts_the_folder_the_same_way(
    built: dict[str, tuple[Path, ImageOutcome]], docker_client: docker.DockerClient
) -> None:
    folder, outcome = built["mounted"]
    (folder / "labels" / "names.txt").chmod(0o644)  # make run binds the user's folder as it is
    spec = load_spec(folder)
    port = free_port()
    with started(docker_client, outcome.build.image_id, port, direct_volumes(folder, spec)) as container:
        wait_until_ready(container, port, 120)
        mounts = {item["Destination"]: item["RW"] for item in container.attrs["Mounts"]}
        assert mounts[f"{MODELS_ROOT}/heavy-mlp/1/model"] is False
        assert mounts[f"{MODELS_ROOT}/label-names/2/labels"] is False
        body = (folder / "samples" / "rows.bin").read_bytes()
        status, _, answer = request(port, "POST", "/score", body, {"Content-Type": "application/octet-stream"})
    assert status == 200, answer
    assert json.loads(answer)["names"] == json.loads((folder / "samples" / "expected.json").read_text())["names"]
