"""Python-based Triton backend named `onnxruntime`: serves `model.onnx` files with onnxruntime on CPU.

Installed in the cpu base as /opt/tritonserver/backends/onnxruntime/model.py, it stands in for NGC's C++ ORT backend
and follows its rules (README "ONNX auto-complete"):
- auto_complete_config() completes what config.pbtxt leaves out exactly like NGC's AutoCompleteConfig: nothing when
  inputs and outputs are both given; else batch detection from the first dimension, max_batch_size, dynamic batching,
  and dims (a tensor left without dims gets dims [1] + reshape [] when the model batches);
- initialize() checks the configuration against the model like NGC's ValidateInputs/ValidateOutputs, with its messages;
- execute() runs every request of a dynamic batch as ONE session.run (concatenated along the batch axis, split back
  per request), computing only the outputs config.pbtxt lists.
Settings: config.pbtxt `parameters` keys intra_op_thread_count / inter_op_thread_count and dynamic_batching ("off"
leaves it disabled), or the environment variables ORT_INTRA_OP_THREADS / ORT_INTER_OP_THREADS /
ORT_DEFAULT_MAX_BATCH_SIZE (Triton's default-max-batch-size, 4); instance count via instance_group in config.pbtxt.
"""

import json
import os

import numpy as np
import triton_python_backend_utils as pb_utils

import onnxruntime as ort

ONNX_TO_TRITON = {
    "tensor(float)": "TYPE_FP32",
    "tensor(double)": "TYPE_FP64",
    "tensor(float16)": "TYPE_FP16",
    "tensor(int8)": "TYPE_INT8",
    "tensor(int16)": "TYPE_INT16",
    "tensor(int32)": "TYPE_INT32",
    "tensor(int64)": "TYPE_INT64",
    "tensor(uint8)": "TYPE_UINT8",
    "tensor(uint16)": "TYPE_UINT16",
    "tensor(uint32)": "TYPE_UINT32",
    "tensor(uint64)": "TYPE_UINT64",
    "tensor(bool)": "TYPE_BOOL",
    "tensor(string)": "TYPE_STRING",
}
REPOSITORY_FLAGS = ("--model-repository", "--model-store")


def default_max_batch_size():
    return int(os.environ.get("ORT_DEFAULT_MAX_BATCH_SIZE", "4"))


def model_repositories():
    """Repository paths: TRITON_MODEL_REPOSITORY (set by the kit's entrypoint), else the parent tritonserver's argv."""
    from_env = os.environ.get("TRITON_MODEL_REPOSITORY")
    if from_env:
        return [path for path in from_env.split(os.pathsep) if path]
    try:
        with open("/proc/{}/cmdline".format(os.getppid()), "rb") as handle:
            argv = [arg.decode() for arg in handle.read().split(b"\0") if arg]
    except OSError:
        return []
    found = []
    for index, arg in enumerate(argv):
        flag, equals, value = arg.partition("=")
        if flag in REPOSITORY_FLAGS:
            found.append(value if equals else (argv[index + 1] if index + 1 < len(argv) else ""))
    return [path for path in found if path]


def find_model_file(model_name, file_name):
    """Newest integer version folder holding `file_name` for `model_name` in any repository."""
    for repository in model_repositories():
        model_dir = os.path.join(repository, model_name)
        if not os.path.isdir(model_dir):
            continue
        versions = sorted((int(entry) for entry in os.listdir(model_dir) if entry.isdigit()), reverse=True)
        for version in versions:
            candidate = os.path.join(model_dir, str(version), file_name)
            if os.path.exists(candidate):
                return candidate
    searched = ", ".join(model_repositories()) or "(no repository found: set TRITON_MODEL_REPOSITORY)"
    raise pb_utils.TritonModelException(
        "onnxruntime backend: no {}/<version>/{} in {}".format(model_name, file_name, searched)
    )


def onnx_dims(node_arg):
    """ORT reports symbolic or unknown dimensions as names or None; Triton spells them -1."""
    return [dim if isinstance(dim, int) and dim >= 0 else -1 for dim in node_arg.shape]


def triton_type(node_arg, model_name):
    if node_arg.type in ONNX_TO_TRITON:
        return ONNX_TO_TRITON[node_arg.type]
    if node_arg.type.startswith(("seq(", "map(")):
        raise pb_utils.TritonModelException(
            "model '{}': output '{}' is {}, not a tensor (skl2onnx's ZipMap makes a list of dicts); Triton serves "
            "tensors only: re-export with skl2onnx's options={{'zipmap': False}} (onnxmltools: zipmap=False) so the "
            "probabilities come out as one float tensor".format(model_name, node_arg.name, node_arg.type)
        )
    raise pb_utils.TritonModelException(
        "model '{}': tensor '{}' has type {}, which the onnxruntime backend does not serve".format(
            model_name, node_arg.name, node_arg.type
        )
    )


def can_support_batching(node_args):
    """NGC's rule: every input and output has a variable (-1) first dimension."""
    return all(onnx_dims(arg)[:1] == [-1] for arg in node_args)


def completed_tensor(node_arg, model_name, max_batch_size):
    """NGC's AutoCompleteIO: dims without the batch dimension; a tensor left with no dims gets dims [1] and, when
    the model batches, reshape [] (rank-1 `[N]` tensors such as a classifier's label)."""
    dims = onnx_dims(node_arg)[1 if max_batch_size > 0 else 0 :]
    tensor = {"name": node_arg.name, "data_type": triton_type(node_arg, model_name), "dims": dims or [1]}
    if not dims and max_batch_size > 0:
        tensor["reshape"] = {"shape": []}
    return tensor


def complete_max_batch_size(config, node_args):
    """NGC's AutoCompleteMaxBatch: a batching model with max_batch_size 0 gets the default and dynamic batching
    (when above 1); a model that cannot batch refuses a non-zero max_batch_size."""
    if can_support_batching(node_args):
        if config.get("max_batch_size", 0) == 0:
            config["max_batch_size"] = default_max_batch_size()
        scheduled = "dynamic_batching" in config or "sequence_batching" in config
        if config["max_batch_size"] > 1 and not scheduled and not dynamic_batching_disabled(config):
            config["dynamic_batching"] = {}
    elif config.get("max_batch_size", 0) != 0:
        raise pb_utils.TritonModelException(
            "autofill failed for model '{}': model does not support batching while non-zero max_batch_size is "
            "specified; set max_batch_size: 0 or export the model with a dynamic first dimension".format(config["name"])
        )


def auto_complete(config, session):
    """Complete `config` in place the way NGC's onnxruntime backend does (nothing when inputs and outputs are given).

    The python backend's ModelConfig helpers cannot express reshape, so the dict is edited directly: the stub sends
    this whole dict back to Triton as the completed configuration."""
    given_inputs = len(config.get("input", [])) + len(config.get("batch_input", []))
    given_outputs = len(config.get("output", []))
    inputs, outputs = session.get_inputs(), session.get_outputs()
    for node_arg in outputs:
        triton_type(node_arg, config["name"])  # a ZipMap output fails here even when the config lists other outputs
    if given_inputs and given_outputs:
        return
    complete_max_batch_size(config, inputs + outputs)
    if not given_inputs:
        config["input"] = [completed_tensor(arg, config["name"], config["max_batch_size"]) for arg in inputs]
    if not given_outputs:
        config["output"] = [completed_tensor(arg, config["name"], config["max_batch_size"]) for arg in outputs]


def shape_text(dims):
    return "[" + ",".join(str(dim) for dim in dims) + "]"


def compare_dims(model_name, tensor_name, model_shape, dims, max_batch_size, exact):
    """NGC's CompareDimsSupported: config dims (or reshape) against the model's shape; -1 in the model matches any
    input dimension, outputs compare exactly."""
    if max_batch_size > 0:
        if not model_shape or model_shape[0] != -1:
            raise pb_utils.TritonModelException(
                "model '{}', tensor '{}': for the model to support batching the shape should have at least 1 "
                "dimension and the first dimension must be -1; but shape expected by the model is {}".format(
                    model_name, tensor_name, shape_text(model_shape)
                )
            )
        full = [-1, *dims]
    else:
        full = list(dims)
    same = len(model_shape) == len(full) and all(
        want == got for want, got in zip(model_shape, full, strict=True) if exact or want != -1
    )
    if not same:
        explained = (
            "an initial batch dimension because max_batch_size > 0 followed by the explicit tensor shape, making "
            "complete shape {}".format(shape_text(full))
            if max_batch_size > 0
            else "shape {}".format(shape_text(full))
        )
        raise pb_utils.TritonModelException(
            "model '{}', tensor '{}': the model expects {} dimensions (shape {}) but the model configuration "
            "specifies {} dimensions ({})".format(
                model_name, tensor_name, len(model_shape), shape_text(model_shape), len(full), explained
            )
        )


def validate_tensors(config, kind, node_args):
    """NGC's ValidateInputs/ValidateOutputs: every configured tensor exists in the model with its type and shape."""
    model_name, max_batch_size = config["name"], config.get("max_batch_size", 0)
    by_name = {arg.name: arg for arg in node_args}
    for tensor in config.get(kind, []):
        name = tensor["name"]
        if name not in by_name:
            raise pb_utils.TritonModelException(
                "unexpected inference {} '{}', allowed {}s are: {}".format(kind, name, kind, ", ".join(sorted(by_name)))
            )
        expected = triton_type(by_name[name], model_name)
        if tensor.get("data_type") != expected:
            raise pb_utils.TritonModelException(
                "unable to load model '{}', configuration expects datatype {} for {} '{}', model provides {}".format(
                    model_name, tensor.get("data_type"), kind, name, expected
                )
            )
        if kind == "input" and tensor.get("optional") and max_batch_size != 0:
            raise pb_utils.TritonModelException(
                "unable to load model '{}', optional input '{}' is not supported for models that support "
                "batching".format(model_name, name)
            )
        reshape = tensor.get("reshape")
        dims = list(reshape.get("shape", [])) if reshape is not None else list(tensor.get("dims", []))
        model_shape = onnx_dims(by_name[name])
        if model_shape:
            compare_dims(model_name, name, model_shape, dims, max_batch_size, exact=kind == "output")
        elif any(dim != 1 for dim in dims):
            raise pb_utils.TritonModelException(
                "unable to load model '{}', scalar tensor '{}', should only provide 1 in the model configuration "
                "when the model doesn't support batching. Model configuration provided: {}.".format(
                    model_name, name, shape_text(dims)
                )
            )


def validate_config(config, session):
    inputs = session.get_inputs()
    configured = config.get("input", [])
    if len(configured) != len(inputs):
        raise pb_utils.TritonModelException(
            "unable to load model '{}', configuration expects {} inputs, model provides {}".format(
                config["name"], len(configured), len(inputs)
            )
        )
    validate_tensors(config, "input", inputs)
    validate_tensors(config, "output", session.get_outputs())


def parameter(model_config, key, environment_variable, default):
    value = model_config.get("parameters", {}).get(key, {}).get("string_value")
    return int(value if value not in (None, "") else os.environ.get(environment_variable, default))


def dynamic_batching_disabled(model_config):
    """config.pbtxt `parameters { key: "dynamic_batching" value { string_value: "off" } }` keeps it off."""
    value = model_config.get("parameters", {}).get("dynamic_batching", {}).get("string_value", "")
    return value.lower() in ("off", "false", "0")


def open_session(path, model_config):
    options = ort.SessionOptions()
    options.intra_op_num_threads = parameter(model_config, "intra_op_thread_count", "ORT_INTRA_OP_THREADS", "0")
    options.inter_op_num_threads = parameter(model_config, "inter_op_thread_count", "ORT_INTER_OP_THREADS", "0")
    return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


def model_file_name(model_config):
    return model_config.get("default_model_filename") or "model.onnx"


class TritonPythonModel:
    @staticmethod
    def auto_complete_config(auto_complete_model_config):
        config = auto_complete_model_config.as_dict()
        path = find_model_file(config["name"], model_file_name(config))
        auto_complete(config, ort.InferenceSession(path, providers=["CPUExecutionProvider"]))
        return auto_complete_model_config

    def initialize(self, args):
        self.model_config = json.loads(args["model_config"])
        path = os.path.join(args["model_repository"], args["model_version"], model_file_name(self.model_config))
        self.session = open_session(path, self.model_config)
        validate_config(self.model_config, self.session)
        self.input_names = [tensor["name"] for tensor in self.model_config["input"]]
        self.string_inputs = {arg.name for arg in self.session.get_inputs() if arg.type == "tensor(string)"}
        # Only the configured outputs are computed: leaving one out of config.pbtxt makes it optional, as in NGC.
        self.output_names = [tensor["name"] for tensor in self.model_config["output"]]
        self.batching = self.model_config.get("max_batch_size", 0) > 0
        scalar = {arg.name for arg in self.session.get_outputs() if len(arg.shape) == 0}
        self.scalar_output_dims = {
            tensor["name"]: tensor["dims"] for tensor in self.model_config["output"] if tensor["name"] in scalar
        }

    def execute(self, requests):
        feeds = [self.read_inputs(request) for request in requests]
        if self.batching and len(requests) > 1:
            try:
                return self.run_as_one_batch(feeds)
            except Exception:  # e.g. ragged shapes or one bad request: fall back to one run per request
                pass
        return [self.run_one(feed) for feed in feeds]

    def read_inputs(self, request):
        feed = {}
        for name in self.input_names:
            tensor = pb_utils.get_input_tensor_by_name(request, name)
            if tensor is None:
                continue
            array = tensor.as_numpy()
            if name in self.string_inputs:
                array = np.vectorize(lambda item: item.decode() if isinstance(item, bytes) else item, otypes=[object])(
                    array
                )
            feed[name] = array
        return feed

    def run_as_one_batch(self, feeds):
        sizes = [len(feed[self.input_names[0]]) for feed in feeds]
        joined = {name: np.concatenate([feed[name] for feed in feeds]) for name in self.input_names}
        results = self.session.run(self.output_names, joined)
        boundaries = np.cumsum(sizes)[:-1]
        per_output = [np.split(result, boundaries) for result in results]
        return [self.response([parts[index] for parts in per_output]) for index in range(len(feeds))]

    def run_one(self, feed):
        try:
            return self.response(self.session.run(self.output_names, feed))
        except Exception as error:
            return pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(str(error)))

    def response(self, arrays):
        tensors = []
        for name, array in zip(self.output_names, arrays, strict=False):
            if array.dtype == object:
                array = np.vectorize(lambda item: item.encode() if isinstance(item, str) else item, otypes=[object])(
                    array
                )
            if name in self.scalar_output_dims:  # NGC answers a scalar output with the configured dims ([1])
                array = array.reshape(self.scalar_output_dims[name])
            tensors.append(pb_utils.Tensor(name, np.ascontiguousarray(array)))
        return pb_utils.InferenceResponse(output_tensors=tensors)
