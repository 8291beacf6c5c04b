"""Load failures read from Triton's log (lines as Triton 2.51 writes them): each model's reason, before the tail."""

from __future__ import annotations

from kit.docker.triton_log import explain, load_failures

SETTINGS_TABLE = "\n".join(f"| option_{index} | value |" for index in range(40))
LOG = (
    'I1129 15:22:56.566640 1 server.cc:241] "CudaDriverHelper has not been initialized."\n'
    "E1129 15:23:00.496315 1 model_lifecycle.cc:642] \"failed to load 'digits' version 1: Internal: "
    "TritonModelException: autofill failed for model 'digits': model does not support batching while non-zero "
    'max_batch_size is specified\\n\\nAt:\\n  /opt/tritonserver/backends/onnxruntime/model.py(127): x\\n"\n'
    "E1129 15:23:30.730906 1 model_lifecycle.cc:642] \"failed to load 'labels' version 1: Invalid argument: "
    "model output 'label' must specify 'dims' for labels\"\n"
    'E1129 15:23:50.903026 1 model_repository_manager.cc:703] "Invalid argument: ensemble chain allows maximum '
    'batch size 32, but it contains model pre which only allows maximum batch size to be 16"\n'
    'E1129 15:23:50.903502 1 tritonserver.cc:2607] "Internal: failed to load all models"\n' + SETTINGS_TABLE
)


def test_each_failed_model_with_its_reason() -> None:
    assert load_failures(LOG) == [
        "model 'digits': autofill failed for model 'digits': model does not support batching while non-zero "
        "max_batch_size is specified",
        "model 'labels': model output 'label' must specify 'dims' for labels",
        "model 'chain': ensemble chain allows maximum batch size 32, but it contains model pre which only allows "
        "maximum batch size to be 16",
    ]


def test_reasons_come_first_even_when_the_tail_misses_them() -> None:
    text = explain(LOG, "container x exited (1)")
    lines = text.splitlines()
    assert lines[0] == "Triton failed to load 3 model(s):"
    assert lines[1].startswith("model 'digits': autofill failed")
    assert lines[4] == "container x exited (1); last 30 log lines:"
    assert "must specify 'dims'" not in "\n".join(lines[5:])  # the tail alone would not have told


def test_no_failures_gives_the_tail_only() -> None:
    assert explain(SETTINGS_TABLE, "not ready").splitlines()[0] == "not ready; last 30 log lines:"
