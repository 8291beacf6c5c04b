"""The closing numbers of the differential tier, derived from the declared cases (never from which tests ran before,
so any order and any subset gives the same numbers): identical / deliberate / total over the request cases, the
streamed ones, a client that leaves and a script without init(). Each case's own test asserts its verdict; this one
checks that the declarations agree with each other and with the numbers docs/azureml-differences.md states."""

from __future__ import annotations

import re

from kit import PROJECT_ROOT
from tests.compat.test_differential import CASES, DELIBERATE
from tests.compat.test_streaming import OTHER_IDS, STREAM_CASES, STREAM_DELIBERATE

DOC = PROJECT_ROOT / "docs" / "azureml-differences.md"


def verdicts() -> dict[str, str]:
    """Case id -> "identical" | "deliberate", as each case's test asserts it."""
    declared = [(case.id, case.deviation) for case in [*CASES, *STREAM_CASES]] + [(id_, None) for id_ in OTHER_IDS]
    ids = [id_ for id_, _ in declared]
    assert len(ids) == len(set(ids)), sorted({id_ for id_ in ids if ids.count(id_) > 1})
    return {id_: "deliberate" if deviation else "identical" for id_, deviation in declared}


def test_count() -> None:
    """Printed with -s; every listed deviation is used, and the documented numbers are these."""
    kinds = list(verdicts().values())
    identical, deliberate = kinds.count("identical"), kinds.count("deliberate")
    print(f"\ndifferential: {identical} identical / {deliberate} deliberate / {len(kinds)} total")
    assert {case.deviation for case in CASES if case.deviation} == DELIBERATE
    assert {case.deviation for case in STREAM_CASES if case.deviation} == STREAM_DELIBERATE
    stated = re.search(r"\*\*(\d+) identical / (\d+) deliberate / (\d+) total\*\*", DOC.read_text())
    assert stated, f"{DOC.name} states no closing numbers"
    assert tuple(map(int, stated.groups())) == (identical, deliberate, len(kinds)), stated.group(0)
