"""Python-based Triton backend named `onnxruntime`: serves `model.onnx` files with onnxruntime on CPU.

Installed in the cpu base as /opt/tritonserver/backends/onnxruntime/model.py, it stands in for NGC's C++ ORT backend:
- auto_complete_config() fills inputs, outputs, max_batch_size and dynamic batching from the ONNX file, so a bare
  `<repo>/<model>/<version>/model.onnx` loads under --strict-model-config=false;
- execute() runs every request of a dynamic batch as ONE session.run (concatenated along the batch axis, split back
  per request), which is where batching pays off.
Settings: config.pbtxt `parameters` keys intra_op_thread_count / inter_op_thread_count and dynamic_batching ("off"
leaves it disabled), or the environment
variables ORT_INTRA_OP_THREADS / ORT_INTER_OP_THREADS / ORT_DEFAULT_MAX_BATCH_SIZE; instance count via
instance_group in config.pbtxt.
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


def has_dynamic_batch_axis(node_args):
    """True when every tensor's first dimension is symbolic, i.e. the model accepts any batch size."""
    return bool(node_args) and all(len(arg.shape) > 0 and not isinstance(arg.shape[0], int) for arg in node_args)


def tensor_config(node_arg, batching):
    if node_arg.type not in ONNX_TO_TRITON:
        raise pb_utils.TritonModelException(
            "onnxruntime backend: tensor '{}' has unsupported type {}".format(node_arg.name, node_arg.type)
        )
    shape = list(node_arg.shape[1:] if batching else node_arg.shape)
    dims = [dim if isinstance(dim, int) and dim >= 0 else -1 for dim in shape]
    return {"name": node_arg.name, "data_type": ONNX_TO_TRITON[node_arg.type], "dims": dims}


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
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        inputs, outputs = session.get_inputs(), session.get_outputs()
        batching = has_dynamic_batch_axis(inputs + outputs)
        if batching and config["max_batch_size"] == 0:
            auto_complete_model_config.set_max_batch_size(default_max_batch_size())
        batching = auto_complete_model_config.as_dict()["max_batch_size"] > 0
        for node_arg in inputs:
            auto_complete_model_config.add_input(tensor_config(node_arg, batching))
        for node_arg in outputs:
            auto_complete_model_config.add_output(tensor_config(node_arg, batching))
        if batching and not dynamic_batching_disabled(config):
            auto_complete_model_config.set_dynamic_batching()
        return auto_complete_model_config

    def initialize(self, args):
        self.model_config = json.loads(args["model_config"])
        path = os.path.join(args["model_repository"], args["model_version"], model_file_name(self.model_config))
        self.session = open_session(path, self.model_config)
        self.input_names = [node_arg.name for node_arg in self.session.get_inputs()]
        self.string_inputs = {arg.name for arg in self.session.get_inputs() if arg.type == "tensor(string)"}
        self.output_names = [node_arg.name for node_arg in self.session.get_outputs()]
        self.batching = self.model_config.get("max_batch_size", 0) > 0

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
            tensors.append(pb_utils.Tensor(name, np.ascontiguousarray(array)))
        return pb_utils.InferenceResponse(output_tensors=tensors)
