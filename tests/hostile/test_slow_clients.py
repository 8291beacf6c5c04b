"""Slow and idle clients are cut by the configured timeouts while legitimate /score requests keep being answered.

All kinds attack at once (bounded: the longest timeout plus a margin). Attackers are sustained: a slot the
server closed connects again, so the legitimate probes run against the full set for the whole run.
"""

from __future__ import annotations

import pytest

from bench.attacks import AttackResult, run_attacks
from tests.hostile.conftest import DEFAULTS, LEGITIMATE
from tests.runtime.conftest import Service

MARGIN_S = 6  # the run lasts the longest timeout plus this, so that every first wave is cut before it ends
ATTACKS = {
    # kind: (attackers, configured timeout, what the server answers an attacker)
    "half-open": (200, DEFAULTS.client_header_timeout_s, {408}),
    "slow-headers": (50, DEFAULTS.client_header_timeout_s, {408}),  # a header line a second: the deadline is total
    "slow-body": (200, DEFAULTS.client_body_timeout_s, {408}),
    "idle": (1000, DEFAULTS.keepalive_timeout_s, {200}),  # its one real request; the idle close is silent
}
TOTAL = sum(count for count, _, _ in ATTACKS.values())


@pytest.fixture(scope="module")
def attack_results(defaults_service: Service) -> dict[str, AttackResult]:
    seconds = max(timeout_s for _, timeout_s, _ in ATTACKS.values()) + MARGIN_S
    counts = {kind: count for kind, (count, _, _) in ATTACKS.items()}
    return run_attacks(defaults_service.port, counts, seconds, LEGITIMATE, sustain=True)


@pytest.mark.parametrize("kind", list(ATTACKS))
def test_attackers_are_cut_by_their_timeout(attack_results: dict[str, AttackResult], kind: str) -> None:
    count, timeout_s, answers = ATTACKS[kind]
    result = attack_results[kind]
    assert result.refused == 0
    assert result.first_wave_closed == count, f"{count - result.first_wave_closed} attackers were never cut"
    # Cut by the timeout, not earlier: the server held each one for the configured time.
    assert min(result.closed_by_server) >= timeout_s - 1
    assert set(result.answered) == answers


def test_score_keeps_answering_under_attack(attack_results: dict[str, AttackResult]) -> None:
    probes = attack_results["idle"].probes
    under_attack = [probe for probe in probes if probe.attackers_open >= TOTAL * 0.9]
    assert under_attack, "no legitimate request ran while the attackers were connected"
    assert [probe.status for probe in probes] == [200] * len(probes)
