"""Triton's command per release: built from the release's option table, never with an option that release lacks."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from kit.spec.bases import PROFILES, SHARED_NETWORK_TRITON_ARGS
from scoring import triton_options
from scoring.settings import Settings, SettingsError
from scoring.supervisor import exposure_note, triton_command

# Every setting the supervisor reads for Triton's command, with the values the docs and the kit use.
SETTING_VALUES = {
    "TRITON_LOCALHOST_ONLY": ("1", "0"),
    "TRITON_HTTP_PORT": ("", "8100"),
    "TRITON_METRICS_PORT": ("", "8102"),
    "TRITON_ARGS": ("", " ".join(SHARED_NETWORK_TRITON_ARGS), "--log-verbose=1 --exit-timeout-secs=5"),
}
# The options the supervisor passed before the tables (Triton 2.51's loopback binding): 2.3.0 lacks them.
LEGACY_LOCALHOST_ARGS = ("--http-address=127.0.0.1", "--grpc-address=127.0.0.1", "--metrics-address=127.0.0.1")


def option_names(command: list[str]) -> set[str]:
    return {argument[2:].partition("=")[0] for argument in command[1:] if argument.startswith("--")}


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILES)
def test_every_documented_setting_gives_a_command_the_release_accepts(profile) -> None:
    table = triton_options.load(profile.triton_version)
    for values in itertools.product(*SETTING_VALUES.values()):
        env = dict(zip(SETTING_VALUES, values, strict=True), TRITON_RELEASE=profile.triton_version)
        command = triton_command(Settings.from_env(env))
        assert option_names(command) <= table.options, (profile.name, env, option_names(command) - table.options)


def test_triton_2_3_0_lacks_the_loopback_options_the_supervisor_used_to_pass() -> None:
    table = triton_options.load("2.3.0")
    assert table.unknown(list(LEGACY_LOCALHOST_ARGS)) == list(LEGACY_LOCALHOST_ARGS)


def test_old_release_turns_grpc_off_and_says_what_is_exposed() -> None:
    settings = Settings.from_env({"TRITON_RELEASE": "2.3.0"})
    command = triton_command(settings)
    assert "--allow-grpc=false" in command and "--strict-model-config=false" in command
    note = exposure_note(settings, triton_options.load("2.3.0"))
    assert note is not None and "8000" in note and "gRPC is off" in note


def test_new_release_binds_to_loopback_and_needs_no_strict_flag() -> None:
    settings = Settings.from_env({"TRITON_RELEASE": "2.53.0"})
    command = triton_command(settings)
    assert "--http-address=127.0.0.1" in command and "--metrics-address=127.0.0.1" in command
    assert not any(argument.startswith("--strict-model-config") for argument in command)
    assert exposure_note(settings, triton_options.load("2.53.0")) is None


def test_an_option_the_release_lacks_is_refused_with_its_name() -> None:
    settings = Settings.from_env({"TRITON_RELEASE": "2.3.0", "TRITON_ARGS": "--http-address=0.0.0.0"})
    with pytest.raises(SettingsError, match=r"2\.3\.0 has no option --http-address=0\.0\.0\.0"):
        triton_command(settings)


def test_an_unknown_release_is_a_setting_error() -> None:
    with pytest.raises(SettingsError, match="TRITON_RELEASE"):
        Settings.from_env({"TRITON_RELEASE": "1.0.0"})


@pytest.mark.parametrize("release", triton_options.releases())
def test_tables_name_their_source(release: str) -> None:
    table = json.loads((triton_options.TABLES_DIR / f"v{release}.json").read_text())
    assert table["tag"] == f"v{release}" and re.fullmatch(r"[0-9a-f]{40}", table["blob"])
    assert table["source"] in ("src/servers/main.cc", "src/command_line_parser.cc")
    assert {"model-repository", "http-port", "metrics-port", "allow-grpc"} <= set(table["options"])


def test_every_profile_has_a_table() -> None:
    assert {profile.triton_version for profile in PROFILES.values()} <= set(triton_options.releases())
