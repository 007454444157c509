"""A settings error is told as the variables an operator sets, on one line."""

from __future__ import annotations

import pytest
from pydantic import AliasChoices, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lc_runtime.settings_loading import describe, load_settings


class Knobs(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LC_", extra="ignore", frozen=True)

    port: int = 8080
    timeout_s: float = Field(
        default=1.0, gt=0, validation_alias=AliasChoices("LC_KNOB_TIMEOUT_S", "timeout_s")
    )
    low: int = 1
    high: int = 2

    @model_validator(mode="after")
    def _ordered(self) -> Knobs:
        if self.low > self.high:
            raise ValueError("LC_LOW must not exceed LC_HIGH")
        return self


def test_each_problem_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LC_PORT", "eighty")
    monkeypatch.setenv("LC_KNOB_TIMEOUT_S", "0")
    with pytest.raises(ValidationError) as caught:
        Knobs()
    told = describe(caught.value.errors())
    assert told.startswith("LC_PORT: Input should be a valid integer")
    assert "; LC_KNOB_TIMEOUT_S: Input should be greater than 0" in told
    assert "\n" not in told


def test_a_rule_across_fields_keeps_its_own_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LC_LOW", "5")
    with pytest.raises(ValidationError) as caught:
        Knobs()
    assert describe(caught.value.errors()) == "settings: LC_LOW must not exceed LC_HIGH"


def test_bad_settings_end_the_program_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LC_PORT", "eighty")
    with pytest.raises(SystemExit) as ended:
        load_settings(Knobs, "lc-knobs")
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("lc-knobs: invalid configuration: LC_PORT: ")
    assert err.count("\n") == 1


def test_an_error_of_another_kind_is_told_as_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    def refuse() -> None:
        raise ValueError("need 0 < recheck_initial <= recheck_max")

    with pytest.raises(SystemExit):
        load_settings(refuse, "lc-knobs")
    assert capsys.readouterr().err == (
        "lc-knobs: invalid configuration: need 0 < recheck_initial <= recheck_max\n"
    )


def test_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LC_PORT", "eighty")
    assert load_settings(Knobs, "lc-knobs", port=9000).port == 9000
