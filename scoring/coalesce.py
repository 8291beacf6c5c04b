"""Coalescing: concurrent infer calls of one gevent worker for one batching model travel to Triton as one request.

While fewer than `straight` requests of a kind (model, input layout, outputs) are in flight, a call goes straight to
Triton, so a lightly loaded worker adds no wait. Beyond that, calls join a pending batch while its rows fit
max_batch_size; the batch is sent as soon as an in-flight request of its kind returns, or when the window has passed,
whichever comes first. The rows are joined along the first axis and each caller gets back its own slice, in the order
it joined, so rows are never mixed. If Triton rejects a joined request, each call is retried on its own, so one
caller's bad data cannot fail the others. A joined exchange runs in its own greenlet: a caller's scoring timeout ends
only that caller's wait.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import gevent
import numpy as np
from gevent.event import Event
from tritonclient.utils import InferenceServerException

Tensor = tuple[str, str, np.ndarray]  # name, Triton datatype, array whose first axis is the batch
Output = tuple[str, dict]  # name, request parameters (e.g. classification)
Infer = Callable[[str, list[Tensor], list[Output]], dict[str, np.ndarray]]
Result = dict[str, np.ndarray] | BaseException


@dataclass
class Batch:
    model: str
    names: list[tuple[str, str]]
    outputs: list[Output]
    key: tuple
    calls: list[list[np.ndarray]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    total_rows: int = 0
    results: list[Result] = field(default_factory=list)
    done: Event = field(default_factory=Event)
    sent: bool = False


@dataclass
class Kind:
    """One model's requests in flight from this worker, and its pending batches by input layout and outputs."""

    in_flight: int = 0
    pending: dict[tuple, Batch] = field(default_factory=dict)


class Coalescer:
    def __init__(self, infer: Infer, window_s: float, straight: int = 2) -> None:
        self.send = infer
        self.window_s = window_s
        self.straight = straight
        self.kinds: dict[tuple, Kind] = {}
        self.requests = 0  # requests sent to Triton, and the calls they carried (tests and the bench read these)
        self.calls = 0

    def infer(self, model: str, inputs: list[Tensor], outputs: list[Output], max_rows: int) -> dict[str, np.ndarray]:
        rows = batch_rows(inputs)
        if rows is None or rows > max_rows:
            return self.send(model, inputs, outputs)
        kind = self.kinds.get(model)
        if kind is None:
            kind = self.kinds[model] = Kind()
        if kind.in_flight < self.straight and not kind.pending:
            return self.straight_through(kind, model, inputs, outputs)
        key = (
            tuple((name, datatype, array.dtype.str, array.shape[1:]) for name, datatype, array in inputs),
            tuple((name, tuple(sorted(parameters.items()))) for name, parameters in outputs),
        )
        batch = kind.pending.get(key)
        if batch is None or batch.total_rows + rows > max_rows:
            if batch is not None:
                self.start(kind, batch)  # full: send it now, the new call starts the next one
            batch = kind.pending[key] = Batch(model, [(name, datatype) for name, datatype, _ in inputs], outputs, key)
            gevent.spawn_later(self.window_s, self.start, kind, batch)
        index = len(batch.calls)
        batch.calls.append([array for _, _, array in inputs])
        batch.rows.append(rows)
        batch.total_rows += rows
        batch.done.wait()
        result = batch.results[index]
        if isinstance(result, BaseException):
            raise result
        return result

    def straight_through(
        self, kind: Kind, model: str, inputs: list[Tensor], outputs: list[Output]
    ) -> dict[str, np.ndarray]:
        kind.in_flight += 1
        self.requests += 1
        self.calls += 1
        try:
            return self.send(model, inputs, outputs)
        finally:
            self.returned(kind)

    def returned(self, kind: Kind) -> None:
        kind.in_flight -= 1
        for batch in list(kind.pending.values()):
            self.start(kind, batch)

    def start(self, kind: Kind, batch: Batch) -> None:
        """Sends the batch in its own greenlet (once; the window timer and a returning request may both ask)."""
        if batch.sent:
            return
        batch.sent = True
        if kind.pending.get(batch.key) is batch:
            del kind.pending[batch.key]
        kind.in_flight += 1
        gevent.spawn(self.flush, kind, batch)

    def flush(self, kind: Kind, batch: Batch) -> None:
        self.requests += 1
        self.calls += len(batch.calls)
        try:
            batch.results = self.exchange(batch)
        except BaseException as error:  # every waiting caller gets the failure, none waits forever
            batch.results = [error] * len(batch.calls)
            if not isinstance(error, Exception):
                raise
        finally:
            batch.done.set()
            self.returned(kind)

    def exchange(self, batch: Batch) -> list[Result]:
        if len(batch.calls) == 1:
            return [self.send(batch.model, self.tensors(batch, batch.calls[0]), batch.outputs)]
        joined = [np.concatenate(column) for column in zip(*batch.calls, strict=True)]
        try:
            outputs = self.send(batch.model, self.tensors(batch, joined), batch.outputs)
        except InferenceServerException:
            return [self.alone(batch, arrays) for arrays in batch.calls]
        if any(array.ndim == 0 or array.shape[0] != batch.total_rows for array in outputs.values()):
            return [self.alone(batch, arrays) for arrays in batch.calls]  # an output without the batch axis
        results: list[Result] = []
        start = 0
        for rows in batch.rows:
            results.append({name: array[start : start + rows] for name, array in outputs.items()})
            start += rows
        return results

    def alone(self, batch: Batch, arrays: list[np.ndarray]) -> Result:
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
