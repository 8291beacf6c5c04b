"""The closing numbers of the differential tier (this file runs last): identical / deliberate / total, over the
request cases, the streamed ones, a client that leaves, and a script without init()."""

from __future__ import annotations

from tests.compat.conftest import RESULTS
from tests.compat.test_differential import CASES, DELIBERATE
from tests.compat.test_streaming import STREAM_DELIBERATE, stream_deviations, stream_ids


def test_zz_count() -> None:
    """Printed with -s; asserted when the whole list ran."""
    expected = [case.id for case in CASES] + stream_ids()
    identical = sum(1 for kind in RESULTS.values() if kind == "identical")
    deliberate = sum(1 for kind in RESULTS.values() if kind == "deliberate")
    print(f"\ndifferential: {identical} identical / {deliberate} deliberate / {len(expected)} total")
    if set(RESULTS) == set(expected):
        assert identical + deliberate == len(expected)
        assert {case.deviation for case in CASES if case.deviation} == DELIBERATE  # every listed deviation is used
        assert stream_deviations() == STREAM_DELIBERATE
