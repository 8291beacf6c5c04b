"""Conformance matrix: converter-made ONNX models, bare and with NGC-form config.pbtxt files, in ONE host tritonserver.

Each variant's /v2/models/<m>/config is compared with a reviewed golden file (tests/conformance/golden/), its answers
with onnxruntime on the host (fp32 within 1e-5 relative), batched, unbatched and at concurrency 64.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

from kit.docker.triton_log import explain
from kit.spec.bases import CPU
from kit.spec.repository import check_repository
from tests.runtime.conformance import (
    BROKEN,
    GOLDEN,
    Case,
    HostReference,
    HostServer,
    assert_same,
    build_repository,
    config_summary,
    get_json,
    loadable_variants,
    model_of,
    request_shape,
    serving,
)

CONCURRENCY = 64


@pytest.fixture(scope="module")
def matrix(host_tritonserver: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostServer]:
    root = tmp_path_factory.mktemp("conformance")
    with serving(host_tritonserver, build_repository(root / "models"), root) as server:
        yield server


@pytest.fixture(scope="module")
def reference() -> HostReference:
    return HostReference()


def infer(client: httpclient.InferenceServerClient, variant: str, config: dict, case: Case) -> dict[str, np.ndarray]:
    inputs = []
    for tensor in config["input"]:
        array = case.inputs[tensor["name"]]
        shaped = array.reshape(request_shape(tensor, config["max_batch_size"], array))
        item = httpclient.InferInput(tensor["name"], list(shaped.shape), np_to_triton_dtype(shaped.dtype))
        item.set_data_from_numpy(shaped, binary_data=True)
        inputs.append(item)
    outputs = [httpclient.InferRequestedOutput(tensor["name"], binary_data=True) for tensor in config["output"]]
    result = client.infer(variant, inputs, outputs=outputs)
    return {tensor["name"]: result.as_numpy(tensor["name"]) for tensor in config["output"]}


def check_case(answer: dict[str, np.ndarray], case: Case, variant: str) -> None:
    for name, actual in answer.items():
        assert_same(f"{variant}/{name}", case.expected[name], actual)


def test_every_variant_loads_and_broken_ones_say_why(matrix: HostServer) -> None:
    index = matrix.index()
    not_ready = {name: index[name].get("reason") for name in loadable_variants() if index[name]["state"] != "READY"}
    assert not not_ready, f"variants that did not load: {json.dumps(not_ready, indent=1)}"
    for variant, reason in BROKEN.items():
        assert index[variant]["state"] == "UNAVAILABLE", variant
        assert reason in index[variant]["reason"], f"{variant}: {index[variant]['reason']}"


def test_log_explains_each_refused_model_first(matrix: HostServer) -> None:
    """What the kit prints when loading fails: Triton's reason per model on the first lines, then the log tail."""
    lines = explain(matrix.log(), "tritonserver").splitlines()
    head = lines[1 : 1 + len(BROKEN)]
    assert lines[0] == f"Triton failed to load {len(BROKEN)} model(s):"
    for variant, reason in BROKEN.items():
        assert any(line.startswith(f"model '{variant}': ") and reason in line for line in head), (variant, head)


@pytest.mark.parametrize("variant", loadable_variants())
def test_completed_config_matches_golden(matrix: HostServer, variant: str) -> None:
    golden = json.loads((GOLDEN / f"{variant}.json").read_text())
    assert config_summary(matrix.config(variant)) == golden


def test_given_instance_groups_are_respected(matrix: HostServer) -> None:
    counts = {variant: [group["count"] for group in matrix.config(variant)["instance_group"]]
              for variant in ("sk_classifier__ngc_reshape", "sk_classifier__partial")}  # fmt: skip
    assert counts == {"sk_classifier__ngc_reshape": [2], "sk_classifier__partial": [1]}


@pytest.mark.parametrize("variant", loadable_variants())
def test_answers_equal_host_onnxruntime(matrix: HostServer, reference: HostReference, variant: str) -> None:
    config = matrix.config(variant)
    client = httpclient.InferenceServerClient(matrix.url)
    for rows, seed in ((1, 11), (3, 12)):
        case = reference.case(model_of(variant), rows, seed)
        check_case(infer(client, variant, config, case), case, variant)


def test_concurrency_64_keeps_rows_apart(matrix: HostServer, reference: HostReference) -> None:
    """64 requests at once per variant, each with its own rows: dynamic batching may join them, never mix them."""
    local = threading.local()

    def client() -> httpclient.InferenceServerClient:
        if not hasattr(local, "client"):
            local.client = httpclient.InferenceServerClient(matrix.url)
        return local.client

    batching = {}
    for variant in loadable_variants():
        config = matrix.config(variant)
        cases = [reference.case(model_of(variant), 1 + index % 3, 1000 + index) for index in range(CONCURRENCY)]
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            answers = list(pool.map(lambda case: infer(client(), variant, config, case), cases))  # noqa: B023
        for case, answer in zip(cases, answers, strict=True):
            check_case(answer, case, variant)
        if "dynamic_batching" in config:
            batching[variant] = matrix_stats(matrix, variant)
    requests = sum(stats["inference_count"] for stats in batching.values())
    executions = sum(stats["execution_count"] for stats in batching.values())
    assert batching and executions < requests, f"dynamic batching never joined requests: {batching}"


def matrix_stats(matrix: HostServer, variant: str) -> dict[str, int]:
    (stats,) = get_json(f"http://{matrix.url}/v2/models/{variant}/stats")["model_stats"]
    return {"inference_count": int(stats["inference_count"]), "execution_count": int(stats["execution_count"])}


def test_classification_extension_uses_label_file(matrix: HostServer, reference: HostReference) -> None:
    variant = "sk_classifier__optional_output"
    case = reference.case("sk_classifier", 2, 21)
    item = httpclient.InferInput("X", [2, 4], "FP32")
    item.set_data_from_numpy(case.inputs["X"], binary_data=True)
    wanted = httpclient.InferRequestedOutput("probabilities", binary_data=True, class_count=2)
    result = httpclient.InferenceServerClient(matrix.url).infer(variant, [item], outputs=[wanted])
    labels = Path(__file__).parent.parent.joinpath("conformance", "labels.txt").read_text().split()
    for row, classes in zip(case.expected["probabilities"], result.as_numpy("probabilities"), strict=True):
        top = np.argsort(-row, kind="stable")[:2]
        parsed = [entry.decode().split(":") for entry in classes]
        assert [int(index) for _, index, _ in parsed] == top.tolist()
        assert [label for _, _, label in parsed] == [labels[index] for index in top]
        np.testing.assert_allclose([float(score) for score, _, _ in parsed], row[top], atol=1e-6)  # printed %f


def test_output_left_out_of_config_is_not_served(matrix: HostServer, reference: HostReference) -> None:
    case = reference.case("sk_classifier", 1, 22)
    item = httpclient.InferInput("X", [1, 4], "FP32")
    item.set_data_from_numpy(case.inputs["X"], binary_data=True)
    client = httpclient.InferenceServerClient(matrix.url)
    with pytest.raises(InferenceServerException, match="label"):
        client.infer("sk_classifier__optional_output", [item], outputs=[httpclient.InferRequestedOutput("label")])


def test_repository_validator_accepts_the_matrix(matrix: HostServer, tmp_path: Path) -> None:
    """What Triton loads (every variant, the python model, the ensemble) passes the kit's repository checks."""
    models = {model.name: model for model in check_repository(build_repository(tmp_path / "models"), CPU)}
    assert models["classify"].backend == "ensemble" and models["preprocess"].backend == "python"
    assert all(name in models for name in loadable_variants())


def test_ensemble_chains_python_preprocessing_and_onnx(matrix: HostServer, reference: HostReference) -> None:
    assert matrix.index()["classify"]["state"] == "READY"
    client = httpclient.InferenceServerClient(matrix.url)

    def call(seed: int) -> None:
        case = reference.case("sk_classifier", 1 + seed % 3, seed)
        raw = case.inputs["X"] * 2.0 + 1.0  # what `preprocess` turns back into X
        item = httpclient.InferInput("RAW", list(raw.shape), "FP32")
        item.set_data_from_numpy(raw.astype(np.float32), binary_data=True)
        result = httpclient.InferenceServerClient(matrix.url).infer("classify", [item])
        expected = reference.session("sk_classifier").run(None, {"X": ((raw - 1.0) / 2.0).astype(np.float32)})
        np.testing.assert_array_equal(result.as_numpy("LABEL").reshape(-1), expected[0])
        np.testing.assert_allclose(result.as_numpy("PROBABILITIES"), expected[1], rtol=1e-5, atol=1e-6)

    assert client.is_model_ready("classify")
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(call, range(CONCURRENCY)))
