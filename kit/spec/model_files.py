"""Model files parsed on the host, without a Docker engine: ONNX files with the onnx package (not onnxruntime) and
config.pbtxt against Triton's model configuration schema (tritonclient's model_config.proto)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kit.spec.text_files import TextFileError, read_text


def onnx_problems(path: Path) -> list[str]:
    """Problems of one .onnx file: it must parse as an ONNX ModelProto holding a graph with outputs."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        data = path.read_bytes()
    except OSError as error:
        return [f"{path}: cannot be read ({error.strerror or error}); check the file"]
    fix = "export the model again (e.g. torch.onnx.export or skl2onnx) and copy the .onnx file here"
    if not data:
        return [f"{path}: is empty (0 bytes), not an ONNX model; {fix}"]
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError, RecursionError) as error:
        return [f"{path}: is not an ONNX model (it does not parse: {type(error).__name__}); {fix}"]
    except Exception as error:  # protobuf and onnx raise assorted types for garbage input
        return [f"{path}: is not an ONNX model ({type(error).__name__}); {fix}"]
    if model.ir_version <= 0 or not model.HasField("graph") or not model.graph.output:
        return [f"{path}: parses but holds no ONNX model graph with outputs (ir_version {model.ir_version}); {fix}"]
    return []


def model_config_class() -> Any:
    from tritonclient.grpc import model_config_pb2

    return model_config_pb2.ModelConfig


def config_problems(path: Path) -> list[str]:
    """Problems of a config.pbtxt: it must parse as Triton's ModelConfig (protobuf text format)."""
    from google.protobuf import text_format

    try:
        text = read_text(path)
    except TextFileError as error:
        return [str(error)]
    try:
        text_format.Parse(text, model_config_class()())
    except text_format.ParseError as error:
        return [
            f"{path}: not a Triton model configuration: {error}; fix that line (fields and syntax: "
            "https://github.com/triton-inference-server/server/blob/main/docs/user_guide/model_configuration.md)"
        ]
    except Exception as error:  # protobuf raises assorted types for garbage input
        return [f"{path}: not a Triton model configuration ({type(error).__name__}); fix the file"]
    return []
