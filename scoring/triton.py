"""Triton helpers for entry scripts: a client that is safe to share across concurrent requests, and numpy inference.

tritonclient's InferenceServerClient is not thread-safe, holds one connection by default, and hangs when created
before a fork. TritonClient hides all three: under gevent workers it shares one client with a pool of connections
(gevent-safe, so Triton sees concurrent requests and batches them); under threads it keeps one client per thread;
after a fork it starts afresh. The real client is created on first use, never at construction.

The hot path (infer_numpy, and infer() as Azure ML's samples call it) goes over the lean wire client; model metadata
and configuration are cached (the repository is baked into the image) and dropped when Triton may have restarted or
rejects a request. Under gevent, concurrent calls for a batching model are coalesced into one Triton request
(scoring.coalesce; TRITON_COALESCE_US bounds the wait, "off" disables it; TRITON_COALESCE_STRAIGHT requests per
model go straight through first).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import tritonclient.http as triton_http
from tritonclient.utils import InferenceServerException, np_to_triton_dtype, triton_to_np_dtype

from scoring import settings
from scoring.coalesce import Coalescer, Output, Tensor
from scoring.triton_wire import WireClient

SEED_URLS = ("localhost:8000", "127.0.0.1:8000")


def triton_url(requested: str | None = None) -> str:
    """TRITON_URL wins over the conventional localhost:8000 that Azure ML scripts hard-code."""
    configured = settings.value("TRITON_URL")
    if requested and (requested not in SEED_URLS or not configured):
        return requested
    return configured or f"127.0.0.1:{settings.value('TRITON_HTTP_PORT')}"


def default_connections() -> int:
    return int(settings.value("TRITON_CONNECTIONS"))


def coalesce_window_s() -> float | None:
    """TRITON_COALESCE_US: the most a call waits to be joined with others; None sends every call on its own."""
    micros = settings.value("TRITON_COALESCE_US")
    return None if micros is None else micros / 1e6


def coalesce_straight() -> int:
    return int(settings.value("TRITON_COALESCE_STRAIGHT"))


def gevent_patched() -> bool:
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return bool(monkey.is_module_patched("socket"))


class TritonClient:
    """Drop-in for tritonclient.http.InferenceServerClient that may be shared by concurrent requests."""

    def __init__(
        self, url: str | None = None, verbose: bool = False, concurrency: int | None = None, **options: Any
    ) -> None:
        self._url = triton_url(url)
        self._options = dict(options, verbose=verbose)
        self._concurrency = max(concurrency or 1, default_connections())
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._shared: triton_http.InferenceServerClient | None = None
        self._per_thread = threading.local()
        self._wire = WireClient(self._url, max_idle=self._concurrency)
        self._forget()
        window = coalesce_window_s()
        self._coalescer = (
            Coalescer(self._wire.infer, window, coalesce_straight())
            if window is not None and gevent_patched()
            else None
        )

    def _forget(self, model_name: str | None = None) -> None:
        """Drops cached metadata and configuration (of one model, or all when Triton may have restarted)."""
        if model_name is None:
            self._broken_seen = self._wire.broken
            self._cached: dict[tuple[str, str], bytes] = {}
            self._tensor_types: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
            self._max_rows: dict[str, int] = {}
            return
        for kind in ("metadata", "config"):
            self._cached.pop((kind, model_name), None)
        self._tensor_types.pop(model_name, None)
        self._max_rows.pop(model_name, None)

    def _cached_json(self, kind: str, model_name: str) -> bytes:
        self._ensure_this_process()
        if self._wire.broken != self._broken_seen:
            self._forget()
        raw = self._cached.get((kind, model_name))
        if raw is None:
            path = f"/v2/models/{model_name}" + ("/config" if kind == "config" else "")
            raw = self._cached[(kind, model_name)] = orjson.dumps(self._wire.get_json(path))
        return raw

    def _make(self, concurrency: int) -> triton_http.InferenceServerClient:
        return triton_http.InferenceServerClient(self._url, concurrency=concurrency, **self._options)

    def _ensure_this_process(self) -> None:
        if os.getpid() != self._pid:  # created before a fork: never reuse the parent's sockets
            self._reset()

    def client(self) -> triton_http.InferenceServerClient:
        self._ensure_this_process()
        if gevent_patched():
            if self._shared is None:
                with self._lock:
                    if self._shared is None:
                        self._shared = self._make(self._concurrency)
            return self._shared
        client = getattr(self._per_thread, "client", None)
        if client is None:
            client = self._per_thread.client = self._make(1)
        return client

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.client(), name)

    def close(self) -> None:
        self._wire.close()
        for client in (self._shared, getattr(self._per_thread, "client", None)):
            if client is not None:
                client.close()
        self._reset()

    def model_metadata(self, model_name: str) -> dict:
        """Triton's model metadata, from the cache (each call gets its own copy to read or change)."""
        return orjson.loads(self._cached_json("metadata", model_name))

    def model_config(self, model_name: str) -> dict:
        return orjson.loads(self._cached_json("config", model_name))

    def get_model_metadata(self, model_name: str, model_version: str = "", **options: Any) -> dict:
        if model_version or any(value is not None for value in options.values()):
            return self.client().get_model_metadata(model_name, model_version, **options)
        return self.model_metadata(model_name)

    def get_model_config(self, model_name: str, model_version: str = "", **options: Any) -> dict:
        if model_version or any(value is not None for value in options.values()):
            return self.client().get_model_config(model_name, model_version, **options)
        return self.model_config(model_name)

    def max_rows(self, model_name: str) -> int:
        """max_batch_size of the model's configuration (0: the model does not batch, so calls are never joined)."""
        rows = self._max_rows.get(model_name)
        if rows is None or self._wire.broken != self._broken_seen:
            rows = self._max_rows[model_name] = int(self.model_config(model_name).get("max_batch_size", 0))
        return rows

    def tensor_types(self, model_name: str) -> tuple[dict[str, str], dict[str, str]]:
        """Input and output datatypes by name, derived once per model (the hot path only looks them up)."""
        if self._wire.broken != self._broken_seen:
            self._forget()
        types = self._tensor_types.get(model_name)
        if types is None:
            metadata = self.model_metadata(model_name)
            types = self._tensor_types[model_name] = (
                {tensor["name"]: tensor["datatype"] for tensor in metadata["inputs"]},
                {tensor["name"]: tensor["datatype"] for tensor in metadata["outputs"]},
            )
        return types

    def infer_numpy(
        self,
        model_name: str,
        inputs: dict[str, np.ndarray],
        outputs: Sequence[str] | None = None,
        binary_data: bool = True,
    ) -> dict[str, np.ndarray]:
        """Infer with numpy arrays; datatypes come from the model's metadata, tensors travel as binary data."""
        datatypes, output_types = self.tensor_types(model_name)
        unknown = sorted(set(inputs) - set(datatypes))
        if unknown:
            raise ValueError(f"model {model_name!r} has no input(s) {unknown}; it takes {sorted(datatypes)}")
        arrays = {
            name: np.asarray(values, dtype=None if datatypes[name] == "BYTES" else triton_to_np_dtype(datatypes[name]))
            for name, values in inputs.items()
        }
        names = list(outputs) if outputs else list(output_types)
        numeric = all(datatypes[name] != "BYTES" for name in arrays) and all(
            output_types.get(name) != "BYTES" for name in names
        )
        if binary_data and numeric:
            tensors = [(name, datatypes[name], array) for name, array in arrays.items()]
            return self.infer_tensors(model_name, tensors, [(name, {}) for name in names])
        request_inputs: list[triton_http.InferInput] = []
        for name, array in arrays.items():
            tensor = triton_http.InferInput(name, list(array.shape), datatypes[name] or np_to_triton_dtype(array.dtype))
            tensor.set_data_from_numpy(array, binary_data=binary_data)
            request_inputs.append(tensor)
        requested = [triton_http.InferRequestedOutput(name, binary_data=binary_data) for name in names]
        result = self.client().infer(model_name, request_inputs, outputs=requested)
        return {name: result.as_numpy(name) for name in names}

    def infer_tensors(self, model_name: str, inputs: list[Tensor], outputs: list[Output]) -> dict[str, np.ndarray]:
        """The lean path: numeric numpy inputs, binary outputs; joined with concurrent calls when the model batches."""
        self._ensure_this_process()
        try:
            if self._coalescer is not None:
                max_rows = self.max_rows(model_name)
                if max_rows > 0:
                    return self._coalescer.infer(model_name, inputs, outputs, max_rows)
            return self._wire.infer(model_name, inputs, outputs)
        except InferenceServerException:
            self._forget(model_name)  # the model may have been reloaded with another configuration
            raise

    def infer(self, model_name: str, inputs: list[Any], model_version: str = "", outputs: list[Any] | None = None,
              request_id: str = "", **options: Any) -> Any:  # fmt: skip
        """tritonclient's infer(); the common Azure ML sample call (binary numeric tensors) takes the lean path."""
        lean = None if model_version or any(options.values()) else lean_request(inputs, outputs)
        if lean is None:
            return self.client().infer(model_name, inputs, model_version, outputs, request_id, **options)
        tensors, requested = lean
        if not requested:
            requested = [(name, {}) for name in self.tensor_types(model_name)[1]]
        return WireResult(model_name, request_id, self.infer_tensors(model_name, tensors, requested))


def lean_request(inputs: list[Any], outputs: list[Any] | None) -> tuple[list[Tensor], list[Output]] | None:
    """The inputs as numpy and outputs as (name, parameters) when the lean path can carry them, else None."""
    tensors: list[Tensor] = []
    for tensor in inputs:
        raw, datatype = getattr(tensor, "_raw_data", None), getattr(tensor, "_datatype", "BYTES")
        if raw is None or datatype in ("BYTES", "BF16") or set(tensor._parameters) != {"binary_data_size"}:
            return None  # JSON data, strings, bfloat16 or shared memory: tritonclient's own path
        array = np.frombuffer(raw, dtype=triton_to_np_dtype(datatype)).reshape(tensor._shape)
        tensors.append((tensor._name, datatype, array))
    requested: list[Output] = []
    for output in outputs or []:
        parameters = dict(getattr(output, "_parameters", {"shared_memory_region": None}))
        if parameters.pop("binary_data", None) is not True or set(parameters) - {"classification"}:
            return None
        requested.append((output._name, parameters))
    return tensors, requested


class WireResult:
    """The part of tritonclient's InferResult that scripts use: as_numpy, get_output, get_response."""

    def __init__(self, model_name: str, request_id: str, arrays: dict[str, np.ndarray]) -> None:
        self.model_name, self.request_id, self.arrays = model_name, request_id, arrays

    def as_numpy(self, name: str) -> np.ndarray | None:
        return self.arrays.get(name)

    def get_output(self, name: str) -> dict | None:
        array = self.arrays.get(name)
        if array is None:
            return None
        datatype = "BYTES" if array.dtype == np.object_ else np_to_triton_dtype(array.dtype)
        return {"name": name, "datatype": datatype, "shape": list(array.shape), "parameters": {"binary_data": True}}

    def get_response(self) -> dict:
        response = {"model_name": self.model_name, "outputs": [self.get_output(name) for name in self.arrays]}
        return {**response, "id": self.request_id} if self.request_id else response


_default: TritonClient | None = None


def client() -> TritonClient:
    """The process-wide shared client for TRITON_URL."""
    global _default
    if _default is None:
        _default = TritonClient()
    return _default
