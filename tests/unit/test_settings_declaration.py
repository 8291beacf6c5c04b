"""Every runtime default declared once: the docs table is generated from the declaration, and build-time checks of
image.yaml's environment use it."""

from __future__ import annotations

from kit import PROJECT_ROOT
from scoring import settings
from scoring.settings import DECLARED, Settings


def test_docs_settings_page_is_generated_from_the_declaration() -> None:
    page = (PROJECT_ROOT / "docs" / "settings.md").read_text()
    assert page == settings.markdown_table(), "run: python -m scoring.settings > docs/settings.md"


def test_every_declared_setting_reaches_a_field_or_a_derived_value() -> None:
    fields = set(Settings.__dataclass_fields__)
    derived = {"server_version_enabled", "server_version_text"}  # folded into server_version
    assert {declared.field for declared in DECLARED} - derived <= fields
    assert len({declared.env for declared in DECLARED}) == len(DECLARED)


def test_defaults_parse_to_the_declared_values() -> None:
    parsed = Settings.from_env({})
    for declared in DECLARED:
        if declared.kind == "int":
            assert getattr(parsed, declared.field) == declared.default, declared.env


def test_problems_name_the_variable_and_the_rule() -> None:
    assert settings.problems({"WORKER_COUNT": -3}) == ["WORKER_COUNT=-3 must be >= 1"]
    assert settings.problems({"LOG_FORMAT": "xml"}) == ["LOG_FORMAT='xml' is not one of text, json"]
    assert settings.problems({"WORKER_COUNT": 2, "MY_OWN_VARIABLE": "x"}) == []


def test_changed_defaults_flow_from_one_place() -> None:
    assert settings.default("SERVER_PORT") == Settings.from_env({}).server_port
    assert Settings.from_env({"TRITON_HTTP_PORT": "8100"}).triton_url == "127.0.0.1:8100"
