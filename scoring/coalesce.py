"""Coalescing: concurrent infer calls of one gevent worker for one batching model travel to Triton as one request.

A call opens a batch for its (model, input layout, outputs) key; calls with the same key that arrive within the
window join it while its rows fit max_batch_size. One greenlet then sends the rows joined along the first axis and
hands each caller back its own slice, in the order the rows were joined, so rows are never mixed. If Triton rejects a
joined request, each call is retried on its own, so one caller's bad data cannot fail the others. The exchange runs in
its own greenlet: a caller's scoring timeout ends only that caller's wait.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import gevent
import numpy as np
from gevent.event import Event
from tritonclient.utils import InferenceServerException

Tensor = tuple[str, str, np.ndarray]  # name, Triton datatype, array whose first axis is the batch
Output = tuple[str, dict]  # name, request parameters (binary_data, class_count)
Infer = Callable[[str, list[Tensor], list[Output]], dict[str, np.ndarray]]


@dataclass
class Batch:
    model: str
    names: list[tuple[str, str]]
    outputs: list[Output]
    calls: list[list[np.ndarray]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    results: list[dict[str, np.ndarray] | BaseException] = field(default_factory=list)
    done: Event = field(default_factory=Event)

    @property
    def total_rows(self) -> int:
        return sum(self.rows)


class Coalescer:
    def __init__(self, infer: Infer, window_s: float) -> None:
        self.send = infer
        self.window_s = window_s
        self.open: dict[tuple, Batch] = {}
        self.batches = 0  # joined requests sent (observable in tests and bench)
        self.calls = 0

    def infer(self, model: str, inputs: list[Tensor], outputs: list[Output], max_rows: int) -> dict[str, np.ndarray]:
        rows = batch_rows(inputs)
        if rows is None or rows > max_rows:
            return self.send(model, inputs, outputs)
        key = (
            model,
            tuple((name, datatype, array.dtype.str, array.shape[1:]) for name, datatype, array in inputs),
            tuple((name, tuple(sorted(parameters.items()))) for name, parameters in outputs),
        )
        batch = self.open.get(key)
        if batch is None or batch.total_rows + rows > max_rows:
            batch = self.open[key] = Batch(model, [(name, datatype) for name, datatype, _ in inputs], outputs)
            gevent.spawn(self.flush, key, batch)
        index = len(batch.calls)
        batch.calls.append([array for _, _, array in inputs])
        batch.rows.append(rows)
        if batch.total_rows >= max_rows and self.open.get(key) is batch:
            del self.open[key]  # full: later calls start the next batch
        batch.done.wait()
        result = batch.results[index]
        if isinstance(result, BaseException):
            raise result
        return result

    def flush(self, key: tuple, batch: Batch) -> None:
        gevent.sleep(self.window_s)
        if self.open.get(key) is batch:
            del self.open[key]
        self.batches += 1
        self.calls += len(batch.calls)
        try:
            batch.results = self.exchange(batch)
        except BaseException as error:  # every waiting caller gets the failure, none waits forever
            batch.results = [error] * len(batch.calls)
            if not isinstance(error, Exception):
                raise
        finally:
            batch.done.set()

    def exchange(self, batch: Batch) -> list[dict[str, np.ndarray] | BaseException]:
        if len(batch.calls) == 1:
            return [self.send(batch.model, self.tensors(batch, batch.calls[0]), batch.outputs)]
        joined = [np.concatenate(column) for column in zip(*batch.calls, strict=True)]
        try:
            outputs = self.send(batch.model, self.tensors(batch, joined), batch.outputs)
        except InferenceServerException:
            return [self.alone(batch, arrays) for arrays in batch.calls]
        total = batch.total_rows
        if any(array.ndim == 0 or array.shape[0] != total for array in outputs.values()):
            return [self.alone(batch, arrays) for arrays in batch.calls]  # an output without the batch axis
        results: list[dict[str, np.ndarray] | BaseException] = []
        start = 0
        for rows in batch.rows:
            results.append({name: array[start : start + rows] for name, array in outputs.items()})
            start += rows
        return results

    def alone(self, batch: Batch, arrays: list[np.ndarray]) -> dict[str, np.ndarray] | BaseException:
        try:
            return self.send(batch.model, self.tensors(batch, arrays), batch.outputs)
        except Exception as error:
            return error

    @staticmethod
    def tensors(batch: Batch, arrays: list[np.ndarray]) -> list[Tensor]:
        return [(name, datatype, array) for (name, datatype), array in zip(batch.names, arrays, strict=True)]


def batch_rows(inputs: list[Tensor]) -> int | None:
    """The common first-axis length of all inputs, or None when they cannot be joined along it."""
    if not inputs:
        return None
    lengths = {array.shape[0] if array.ndim else None for _, _, array in inputs}
    if len(lengths) != 1:
        return None
    rows = lengths.pop()
    return rows if rows else None
