"""The coalescer's joining and splitting rules, with concurrent greenlets (Triton itself: tests/runtime)."""

from __future__ import annotations

import gevent
import numpy as np
import pytest
from tritonclient.utils import InferenceServerException

from scoring.coalesce import Coalescer, Output, Tensor


class Recorder:
    """A stand-in for the wire: waits like I/O, doubles x, records each request, rejects any request holding a -1."""

    def __init__(self) -> None:
        self.requests: list[np.ndarray] = []

    def __call__(self, model: str, inputs: list[Tensor], outputs: list[Output]) -> dict[str, np.ndarray]:
        x = inputs[0][2]
        self.requests.append(x)
        gevent.sleep(0.001)
        if (x == -1).any():
            raise InferenceServerException(msg="bad row", status="400")
        return {"y": x * 2}


def call_all(coalescer: Coalescer, arrays: list[np.ndarray], max_rows: int = 64) -> list[object]:
    def one(array: np.ndarray) -> object:
        try:
            return coalescer.infer("m", [("x", "FP32", array)], [("y", {})], max_rows)
        except InferenceServerException as error:
            return error

    greenlets = [gevent.spawn(one, array) for array in arrays]
    gevent.joinall(greenlets, raise_error=True)
    return [greenlet.value for greenlet in greenlets]


def test_concurrent_calls_are_joined_and_each_gets_its_own_rows() -> None:
    recorder = Recorder()
    arrays = [np.full((1 + index % 3, 2), index, dtype=np.float32) for index in range(20)]
    results = call_all(Coalescer(recorder, 0.0, straight=2), arrays)
    assert [len(request) for request in recorder.requests] == [1, 2, sum(len(array) for array in arrays[2:])]
    for array, result in zip(arrays, results, strict=True):
        np.testing.assert_array_equal(result["y"], array * 2)


def test_calls_go_straight_through_while_few_are_in_flight() -> None:
    recorder = Recorder()
    coalescer = Coalescer(recorder, 0.0, straight=2)
    for index in range(5):
        call_all(coalescer, [np.full((1, 2), index, dtype=np.float32)] * 2)
    assert [len(request) for request in recorder.requests] == [1] * 10


def test_a_returning_request_sends_the_pending_batch_before_the_window_ends() -> None:
    recorder = Recorder()
    with gevent.Timeout(5):  # the window is an hour: only a returning request can have sent the batch
        call_all(Coalescer(recorder, 3600.0, straight=1), [np.zeros((1, 2), dtype=np.float32)] * 6)
    assert [len(request) for request in recorder.requests] == [1, 5]


def test_a_batch_never_exceeds_max_rows() -> None:
    recorder = Recorder()
    arrays = [np.full((3, 2), index, dtype=np.float32) for index in range(10)]
    results = call_all(Coalescer(recorder, 0.0), arrays, max_rows=7)
    assert max(len(request) for request in recorder.requests) <= 7
    for array, result in zip(arrays, results, strict=True):
        np.testing.assert_array_equal(result["y"], array * 2)


def test_a_rejected_joined_request_fails_only_the_bad_caller() -> None:
    recorder = Recorder()
    arrays = [np.full((1, 2), index, dtype=np.float32) for index in range(5)]
    arrays[2][:] = -1
    results = call_all(Coalescer(recorder, 0.0), arrays)
    assert isinstance(results[2], InferenceServerException)
    for index in (0, 1, 3, 4):
        np.testing.assert_array_equal(results[index]["y"], arrays[index] * 2)


def test_different_shapes_are_never_joined() -> None:
    recorder = Recorder()
    arrays = [np.zeros((1, 2), dtype=np.float32), np.zeros((1, 3), dtype=np.float32)]
    call_all(Coalescer(recorder, 0.0), arrays)
    assert sorted(request.shape for request in recorder.requests) == [(1, 2), (1, 3)]


def test_a_caller_that_times_out_does_not_strand_the_others() -> None:
    def slow(model: str, inputs: list[Tensor], outputs: list[Output]) -> dict[str, np.ndarray]:
        gevent.sleep(0.05)
        return {"y": inputs[0][2] * 2}

    coalescer = Coalescer(slow, 0.0)

    def impatient() -> None:
        with gevent.Timeout(0.01):
            coalescer.infer("m", [("x", "FP32", np.ones((1, 2), dtype=np.float32))], [("y", {})], 64)

    patient = gevent.spawn(coalescer.infer, "m", [("x", "FP32", np.zeros((1, 2), dtype=np.float32))], [("y", {})], 64)
    first = gevent.spawn(impatient)
    gevent.joinall([first, patient])
    assert isinstance(first.exception, gevent.Timeout)
    np.testing.assert_array_equal(patient.value["y"], np.zeros((1, 2)))


@pytest.mark.parametrize("array", [np.float32(1.0), np.zeros((0, 2), dtype=np.float32)])
def test_inputs_without_rows_go_alone(array: np.ndarray) -> None:
    recorder = Recorder()
    result = Coalescer(recorder, 0.0).infer("m", [("x", "FP32", np.asarray(array))], [("y", {})], 64)
    assert len(recorder.requests) == 1
    np.testing.assert_array_equal(result["y"], np.asarray(array) * 2)
