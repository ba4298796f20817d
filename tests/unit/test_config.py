"""Settings: production refuses to start without a real secret; the local stack keeps one."""

from __future__ import annotations

from pathlib import Path

import pytest

from truss import config as settings
from truss.config import TEST_ENVIRON, ConfigError, from_environ, local_stack_settings

PROD = {"TRUSS_ENV": "production", "SECRET_KEY": "x" * 40, "TRUSS_PUBLIC_URL": "https://t.example"}


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        from_environ({"TRUSS_ENV": "production", "TRUSS_DATA_DIR": str(tmp_path)})


def test_production_refuses_a_short_secret_key() -> None:
    with pytest.raises(ConfigError, match="too short"):
        from_environ({"TRUSS_ENV": "production", "SECRET_KEY": "hunter2"})


def test_local_stack_generates_a_secret_once_and_keeps_it(tmp_path: Path) -> None:
    env = {"TRUSS_ENV": "local", "TRUSS_DATA_DIR": str(tmp_path)}
    first = from_environ(env)["SECRET_KEY"]
    assert len(first) >= 32
    assert from_environ(env)["SECRET_KEY"] == first


def test_cookies_are_secure_in_production_and_not_on_the_local_stack(tmp_path: Path) -> None:
    prod = from_environ(PROD)
    local = from_environ({"TRUSS_ENV": "local", "TRUSS_DATA_DIR": str(tmp_path)})
    assert prod["SESSION_COOKIE_SECURE"] is True
    assert local["SESSION_COOKIE_SECURE"] is False
    assert prod["SESSION_COOKIE_HTTPONLY"] and prod["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_a_bad_number_names_the_setting() -> None:
    env = {**PROD, "TRUSS_MAX_UPLOAD_BYTES": "lots"}
    with pytest.raises(ConfigError, match="TRUSS_MAX_UPLOAD_BYTES"):
        from_environ(env)


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ConfigError, match="TRUSS_ENV"):
        from_environ({"TRUSS_ENV": "staging"})


def test_production_needs_its_public_origin_for_sign_in_links() -> None:
    for url in ("", "http://t.example"):
        env = {**PROD, "TRUSS_PUBLIC_URL": url}
        with pytest.raises(ConfigError, match="TRUSS_PUBLIC_URL"):
            from_environ(env)


def test_the_local_stack_reads_its_ports_and_the_kept_secret_through_config(tmp_path: Path) -> None:
    env = {"TRUSS_DATA_DIR": str(tmp_path), "PORT": "5123", "TRUSS_FAKE_TWITCH_PORT": "0"}
    stack = local_stack_settings(env)
    assert (stack["PORT"], stack["MOTO_PORT"], stack["FAKE_TWITCH_PORT"]) == (5123, 5100, 0)
    assert stack["SECRET_KEY"] == from_environ({**env, "TRUSS_ENV": "local"})["SECRET_KEY"]
    real = local_stack_settings({**env, "TIKTOK_CLIENT_KEY": "k"})["REAL_PLATFORM_KEYS"]
    assert real["TIKTOK_CLIENT_KEY"] == "k" and real["YOUTUBE_CLIENT_ID"] == ""  # truss dev's fakes
    with pytest.raises(ConfigError, match="TRUSS_REDIS_PORT"):
        local_stack_settings({**env, "TRUSS_REDIS_PORT": "many"})


def test_test_config_is_the_environment_reading_of_a_fixed_test_environment() -> None:
    config = settings.test_config(MAX_CLIPS=5)  # imported bare, pytest would collect it
    assert config == {
        **from_environ(TEST_ENVIRON),
        "TESTING": True,
        "RQ_ASYNC": False,
        "MAX_CLIPS": 5,
    }
    assert config["TRUSS_ENV"] == "local" and config["RATELIMIT_STORAGE_URI"] == "memory://"
