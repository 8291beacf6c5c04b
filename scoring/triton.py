"""Triton helpers for entry scripts: a client that is safe to share across concurrent requests, and numpy inference.

tritonclient's InferenceServerClient is not thread-safe, holds one connection by default, and hangs when created
before a fork. TritonClient hides all three: under gevent workers it shares one client with a pool of connections
(gevent-safe, so Triton sees concurrent requests and batches them); under threads it keeps one client per thread;
after a fork it starts afresh. The real client is created on first use, never at construction.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import tritonclient.http as triton_http
from tritonclient.utils import np_to_triton_dtype, triton_to_np_dtype

from scoring.triton_wire import WireClient

SEED_URLS = ("localhost:8000", "127.0.0.1:8000")


def triton_url(requested: str | None = None) -> str:
    """TRITON_URL wins over the conventional localhost:8000 that Azure ML scripts hard-code."""
    configured = os.environ.get("TRITON_URL")
    if requested and (requested not in SEED_URLS or not configured):
        return requested
    return configured or "127.0.0.1:8000"


def default_connections() -> int:
    return int(os.environ.get("TRITON_CONNECTIONS", "64"))


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
        self._metadata: dict[str, dict] = {}
        self._tensor_types: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
        self._wire = WireClient(self._url, max_idle=self._concurrency)

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
        metadata = self._metadata.get(model_name)
        if metadata is None:
            metadata = self._metadata[model_name] = self.client().get_model_metadata(model_name)
        return metadata

    def tensor_types(self, model_name: str) -> tuple[dict[str, str], dict[str, str]]:
        """Input and output datatypes by name, derived once per model (the hot path only looks them up)."""
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
            self._ensure_this_process()
            return self._wire.infer(
                model_name, [(name, datatypes[name], array) for name, array in arrays.items()], names
            )
        request_inputs: list[triton_http.InferInput] = []
        for name, array in arrays.items():
            tensor = triton_http.InferInput(name, list(array.shape), datatypes[name] or np_to_triton_dtype(array.dtype))
            tensor.set_data_from_numpy(array, binary_data=binary_data)
            request_inputs.append(tensor)
        requested = [triton_http.InferRequestedOutput(name, binary_data=binary_data) for name in names]
        result = self.client().infer(model_name, request_inputs, outputs=requested)
        return {name: result.as_numpy(name) for name in names}


_default: TritonClient | None = None


def client() -> TritonClient:
    """The process-wide shared client for TRITON_URL."""
    global _default
    if _default is None:
        _default = TritonClient()
    return _default
