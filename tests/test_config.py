"""Paths (GRADIENT_DESKTOP_HOME, platformdirs) and the JSON settings that never hold a secret."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import pytest

from gradient_desktop import config
from gradient_desktop.config import SecretInSettingsError, Settings


def test_home_env_puts_every_folder_under_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "elsewhere"
    monkeypatch.setenv("GRADIENT_DESKTOP_HOME", str(home))
    assert config.data_dir() == home / "data"
    assert config.log_dir() == home / "logs"
    assert config.config_dir() == home / "config"
    assert all(p.is_dir() for p in (home / "data", home / "logs", home / "config"))
    assert config.database_path() == home / "data" / "gradient-desktop.sqlite3"
    assert config.lock_path() == home / "data" / "gradient-desktop.lock"
    assert config.settings_path() == home / "config" / "settings.json"


def test_without_home_env_paths_come_from_platformdirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRADIENT_DESKTOP_HOME")
    # ensure=False: look, but do not create folders in the real profile.
    assert config.data_dir(ensure=False) == platformdirs.user_data_path(
        "gradient-desktop", appauthor=False
    )
    assert config.log_dir(ensure=False) == platformdirs.user_log_path(
        "gradient-desktop", appauthor=False
    )
    assert config.config_dir(ensure=False) == platformdirs.user_config_path(
        "gradient-desktop", appauthor=False
    )


def test_settings_defaults() -> None:
    s = Settings()
    assert (s.default_concurrency, s.timeout_s, s.log_level, s.theme) == (
        0,  # automatic: chosen from the latency (api/ratelimit.py)
        30.0,
        "INFO",
        "system",
    )
    assert s.last_partner is None and s.first_run_done is False


def test_settings_round_trip_through_json(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "settings.json"
    Settings(default_concurrency=4, theme="dark", last_partner="Contoso", first_run_done=True).save(
        path
    )
    loaded = Settings.load(path)
    assert loaded == Settings(
        default_concurrency=4, theme="dark", last_partner="Contoso", first_run_done=True
    )
    assert json.loads(path.read_text())["theme"] == "dark"
    assert [p.name for p in path.parent.iterdir()] == ["settings.json"]  # no temp files left


def test_settings_default_location_is_config_dir(isolated_home: Path) -> None:
    Settings(log_level="DEBUG").save()
    assert (isolated_home / "config" / "settings.json").exists()
    assert Settings.load().log_level == "DEBUG"


def test_missing_or_broken_settings_file_gives_defaults(tmp_path: Path) -> None:
    assert Settings.load(tmp_path / "absent.json") == Settings()
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert Settings.load(broken) == Settings()
    broken.write_text("[1, 2]")
    assert Settings.load(broken) == Settings()


def test_out_of_range_and_unknown_values_fall_back(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps(
            {
                "default_concurrency": 100000,
                "timeout_s": "soon",
                "log_level": "chatty",
                "theme": "neon",
                "from_a_newer_version": 1,
            }
        )
    )
    assert Settings.load(path) == Settings()


def test_secret_looking_keys_in_the_file_are_never_loaded(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"partner_api_key": "hunter2", "theme": "light"}))
    loaded = Settings.load(path)
    assert loaded.theme == "light"
    assert "hunter2" not in repr(loaded)


@pytest.mark.parametrize("field_name", ["api_key", "access_token", "client_secret", "password"])
def test_settings_refuse_a_field_that_looks_like_a_credential(
    tmp_path: Path, field_name: str
) -> None:
    leaky = dataclass(
        type("Leaky", (Settings,), {"__annotations__": {field_name: str}, field_name: "x"})
    )
    path = tmp_path / "settings.json"
    with pytest.raises(SecretInSettingsError, match="keyring"):
        leaky().save(path)
    assert not path.exists()
