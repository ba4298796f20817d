"""Settings: the one place that reads the environment."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

LOCAL = "local"
PRODUCTION = "production"
GIB = 1024**3
MIB = 1024**2


# CSRF tokens live as long as the session they belong to (which ends on idle time, maximum age
# and sign-out, checked on the server): Flask-WTF's default of one hour broke long uploads and
# pages left open.
CSRF_TIME_LIMIT = None


class ConfigError(RuntimeError):
    """The environment cannot run Truss; the message says which setting to fix."""


N = TypeVar("N", int, float)


def _number(env: Mapping[str, str], name: str, default: N, kind: type[N], what: str) -> N:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be {what}, got {raw!r}") from exc


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return _number(env, name, default, int, "a whole number")


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    return _number(env, name, default, float, "a number")


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def local_secret_key(data_dir: Path) -> str:
    """The local stack's secret key: generated once, kept in the data directory."""
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _secret_key(env: Mapping[str, str], mode: str, data_dir: Path) -> str:
    key = env.get("SECRET_KEY", "")
    if key:
        if mode == PRODUCTION and len(key) < 32:
            raise ConfigError("SECRET_KEY is too short: use at least 32 random characters.")
        return key
    if mode == LOCAL:
        return local_secret_key(data_dir)
    raise ConfigError(
        "SECRET_KEY is not set. Production needs a long random secret, e.g. "
        "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
    )


def _public_url(env: Mapping[str, str], mode: str) -> str:
    """Links in emails and OAuth redirects are built from this, never from a request's Host."""
    url = env.get("TRUSS_PUBLIC_URL", "").rstrip("/")
    if mode == PRODUCTION and not url.startswith("https://"):
        raise ConfigError(
            "TRUSS_PUBLIC_URL must be set to the app's https:// origin in production "
            "(sign-in links are built from it, never from a request's Host header)."
        )
    return url


def _data_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("TRUSS_DATA_DIR", ".truss")).resolve()


def font_dirs(env: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """Where caption fonts are looked up (TRUSS_FONT_DIRS, os.pathsep-separated): read here,
    like every other setting, for the captions' font finder, which runs without an app."""
    env = os.environ if env is None else env
    return tuple(Path(p) for p in env.get("TRUSS_FONT_DIRS", "/usr/share/fonts").split(os.pathsep))


def from_environ(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config from environment variables (see README's table)."""
    env = os.environ if env is None else env
    mode = env.get("TRUSS_ENV", PRODUCTION)
    if mode not in {LOCAL, PRODUCTION}:
        raise ConfigError(f"TRUSS_ENV must be 'local' or 'production', got {mode!r}")
    data_dir = _data_dir(env)
    local = mode == LOCAL
    return {
        "TRUSS_ENV": mode,
        "TRUSS_DATA_DIR": str(data_dir),
        "SECRET_KEY": _secret_key(env, mode, data_dir),
        "SECRET_KEY_FALLBACKS": env.get("SECRET_KEY_FALLBACKS", "").split(),
        "TRUSS_TABLE": env.get("TRUSS_TABLE", "truss"),
        "TRUSS_BUCKET": env.get("TRUSS_BUCKET", "truss-media"),
        "AWS_REGION": env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "us-east-1")),
        "S3_PUBLIC_ENDPOINT": env.get("TRUSS_S3_PUBLIC_ENDPOINT", ""),
        "REDIS_URL": env.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "GEMINI_API_KEY": env.get("GEMINI_API_KEY", ""),
        "PUBLIC_URL": _public_url(env, mode),
        "MAX_UPLOAD_BYTES": _int(env, "TRUSS_MAX_UPLOAD_BYTES", 5 * GIB),
        "MULTIPART_THRESHOLD_BYTES": _int(env, "TRUSS_MULTIPART_THRESHOLD_BYTES", 100 * MIB),
        "MULTIPART_PART_BYTES": _int(env, "TRUSS_MULTIPART_PART_BYTES", 16 * MIB),
        "UPLOAD_URL_EXPIRES_S": min(_int(env, "TRUSS_UPLOAD_URL_EXPIRES_S", 900), 900),
        "MAIL_FROM": env.get("TRUSS_MAIL_FROM", "Truss <no-reply@localhost>"),
        "SMTP_URL": env.get("TRUSS_SMTP_URL", ""),
        "GOOGLE_CLIENT_ID": env.get("GOOGLE_CLIENT_ID", ""),
        "GOOGLE_CLIENT_SECRET": env.get("GOOGLE_CLIENT_SECRET", ""),
        "GOOGLE_METADATA_URL": env.get(
            "GOOGLE_METADATA_URL", "https://accounts.google.com/.well-known/openid-configuration"
        ),
        "GITHUB_CLIENT_ID": env.get("GITHUB_CLIENT_ID", ""),
        "GITHUB_CLIENT_SECRET": env.get("GITHUB_CLIENT_SECRET", ""),
        "GITHUB_AUTHORIZE_URL": env.get(
            "GITHUB_AUTHORIZE_URL", "https://github.com/login/oauth/authorize"
        ),
        "GITHUB_TOKEN_URL": env.get(
            "GITHUB_TOKEN_URL", "https://github.com/login/oauth/access_token"
        ),
        "GITHUB_API_BASE": env.get("GITHUB_API_BASE", "https://api.github.com/"),
        "RATELIMIT_LINK_PER_EMAIL": env.get("TRUSS_RATELIMIT_LINK_PER_EMAIL", "5 per 15 minutes"),
        "RATELIMIT_LINK_PER_IP": env.get("TRUSS_RATELIMIT_LINK_PER_IP", "30 per hour"),
        "RATELIMIT_SPEND_PER_IP": env.get("TRUSS_RATELIMIT_SPEND_PER_IP", "30 per 15 minutes"),
        "SESSION_IDLE_MINUTES": _int(env, "TRUSS_SESSION_IDLE_MINUTES", 60 * 24),
        "SESSION_MAX_DAYS": _int(env, "TRUSS_SESSION_MAX_DAYS", 14),
        "SESSION_COOKIE_SECURE": _bool(env, "TRUSS_SECURE_COOKIES", not local),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": CSRF_TIME_LIMIT,
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "")
        or env.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        # A rate-limit store that is down or slow never fails a page: each process then keeps
        # the limits in memory (sign-in limits too, per process) until the store answers again.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_STORAGE_OPTIONS": _redis_timeouts(env, "TRUSS_RATELIMIT_REDIS_TIMEOUT_S", 0.5),
        "RQ_ASYNC": True,
        "JOB_TIMEOUT_S": _int(env, "TRUSS_JOB_TIMEOUT_S", 3600),
        "JOB_TIMEOUT_PER_VIDEO_S": _float(env, "TRUSS_JOB_TIMEOUT_PER_VIDEO_S", 2.0),
        "PROXY_HOPS": _int(env, "TRUSS_PROXY_HOPS", 0 if local else 1),  # prod: a TLS proxy
        "READINESS_CACHE_S": _float(env, "TRUSS_READINESS_CACHE_S", 5.0),
        "WORKER_MAINTENANCE_S": _int(env, "TRUSS_WORKER_MAINTENANCE_S", 60),
        "WORKER_HEARTBEAT_S": _int(env, "TRUSS_WORKER_HEARTBEAT_S", 30),
        **_analysis_settings(env),
        **_quota_settings(env),
        **_stream_settings(env),
        **_publishing_settings(env),
        **_analytics_settings(env),
        **_platform_oauth_settings(env),
        **_token_settings(env, data_dir, local),
    }


def _analysis_settings(env: Mapping[str, str]) -> dict[str, Any]:
    analyzer = env.get("TRUSS_ANALYZER", "auto")
    if analyzer not in {"auto", "signals", "gemini"}:
        raise ConfigError(f"TRUSS_ANALYZER must be auto, signals or gemini, got {analyzer!r}")
    size = env.get("TRUSS_RENDER_SIZE", "720x1280")
    if size not in {"720x1280", "1080x1920"}:
        raise ConfigError(f"TRUSS_RENDER_SIZE must be 720x1280 or 1080x1920, got {size!r}")
    recogniser = env.get("TRUSS_CAPTIONS_RECOGNISER", "offline")
    if recogniser not in {"offline", "off"}:
        raise ConfigError(f"TRUSS_CAPTIONS_RECOGNISER must be offline or off, got {recogniser!r}")
    gemini_words = env.get("TRUSS_GEMINI_TRANSCRIPTS", "on")
    if gemini_words not in {"on", "off"}:
        raise ConfigError(f"TRUSS_GEMINI_TRANSCRIPTS must be on or off, got {gemini_words!r}")
    return {
        "ANALYZER": analyzer,
        "GEMINI_MODEL": env.get("GEMINI_MODEL", ""),
        "GEMINI_BASE_URL": env.get("TRUSS_GEMINI_BASE_URL", ""),
        "GEMINI_POLL_INTERVAL_S": _float(env, "TRUSS_GEMINI_POLL_INTERVAL_S", 5.0),
        "GEMINI_RETRY_INITIAL_DELAY_S": _float(env, "TRUSS_GEMINI_RETRY_DELAY_S", 1.0),
        "GEMINI_INPUT_PRICE_PER_M": _float(env, "GEMINI_INPUT_PRICE_PER_M", 0.75),
        "GEMINI_OUTPUT_PRICE_PER_M": _float(env, "GEMINI_OUTPUT_PRICE_PER_M", 3.75),
        "CLIP_MIN_S": _float(env, "TRUSS_CLIP_MIN_S", 15.0),
        "CLIP_MAX_S": _float(env, "TRUSS_CLIP_MAX_S", 60.0),
        "MAX_CLIPS": _int(env, "TRUSS_MAX_CLIPS", 8),
        "RENDER_SIZE": size,
        "CAPTIONS_RECOGNISER": recogniser,  # off: renders never transcribe (truss.captions)
        "GEMINI_TRANSCRIPTS": gemini_words == "on",  # a Gemini analysis asks each clip's words
    }


def _redis_timeouts(env: Mapping[str, str], name: str, default: float) -> dict[str, float]:
    """A Redis client's socket timeouts (connect and reply) from one setting."""
    seconds = _float(env, name, default)
    return {"socket_timeout": seconds, "socket_connect_timeout": seconds}


def _analytics_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Daily counters (truss.analytics.counters) and the cost model's prices (USD, AWS
    us-east-1 list prices; Gemini's are GEMINI_*_PRICE_PER_M above)."""
    return {
        "ANALYTICS_SHARDS": max(1, _int(env, "TRUSS_ANALYTICS_SHARDS", 4)),
        "ANALYTICS_FLUSH_S": _int(env, "TRUSS_ANALYTICS_FLUSH_S", 60),
        "ANALYTICS_REDIS_TIMEOUT_S": _float(env, "TRUSS_ANALYTICS_REDIS_TIMEOUT_S", 0.25),
        "SHARE_RATE_LIMIT": env.get("TRUSS_SHARE_RATE_LIMIT", ""),  # "": 120 per minute
        "PRICE_DDB_READ_PER_M": _float(env, "TRUSS_PRICE_DDB_READ_PER_M", 0.125),
        "PRICE_DDB_WRITE_PER_M": _float(env, "TRUSS_PRICE_DDB_WRITE_PER_M", 0.625),
        "PRICE_S3_GB_MONTH": _float(env, "TRUSS_PRICE_S3_GB_MONTH", 0.023),
        "PRICE_S3_PUT_PER_K": _float(env, "TRUSS_PRICE_S3_PUT_PER_K", 0.005),
        "PRICE_S3_GET_PER_K": _float(env, "TRUSS_PRICE_S3_GET_PER_K", 0.0004),
        "PRICE_S3_OUT_PER_GB": _float(env, "TRUSS_PRICE_S3_OUT_PER_GB", 0.09),
    }


def _stream_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Live chat capture (`truss chat`)."""
    return {
        "TWITCH_IRC_HOST": env.get("TWITCH_IRC_HOST", "irc.chat.twitch.tv"),
        "TWITCH_IRC_PORT": _int(env, "TWITCH_IRC_PORT", 6697),
        "TWITCH_IRC_TLS": _bool(env, "TWITCH_IRC_TLS", True),
        "YOUTUBE_API_KEY": env.get("YOUTUBE_API_KEY", ""),
        "YOUTUBE_API_BASE": env.get("YOUTUBE_API_BASE", "https://www.googleapis.com/youtube/v3"),
        "YOUTUBE_DAILY_QUOTA": _int(env, "YOUTUBE_DAILY_QUOTA", 10000),
        "STREAM_LEASE_S": _float(env, "TRUSS_STREAM_LEASE_S", 10.0),
    }


def _publishing_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Where the publishing adapters send clips (tests and `truss dev` point them at fakes)."""
    return {
        "YOUTUBE_UPLOAD_BASE": env.get("YOUTUBE_UPLOAD_BASE", "https://www.googleapis.com/upload"),
        "YOUTUBE_ANALYTICS_BASE": env.get(
            "YOUTUBE_ANALYTICS_BASE", "https://youtubeanalytics.googleapis.com"
        ),
        "PLATFORM_STATS_EVERY_S": _int(env, "TRUSS_PLATFORM_STATS_EVERY_S", 3600),
        "PLATFORM_STATS_REFETCH_DAYS": _int(env, "TRUSS_PLATFORM_STATS_REFETCH_DAYS", 3),
        "TIKTOK_API_BASE": env.get("TIKTOK_API_BASE", "https://open.tiktokapis.com"),
        "DISCORD_API_BASE": env.get("DISCORD_API_BASE", "https://discord.com/api"),
        "DISCORD_UPLOAD_LIMIT_BYTES": _int(env, "DISCORD_UPLOAD_LIMIT_BYTES", 10 * MIB),
        "TWITCH_API_BASE": env.get("TWITCH_API_BASE", "https://api.twitch.tv"),
        "DISCORD_CDN_BASE": env.get("DISCORD_CDN_BASE", "https://cdn.discordapp.com"),
        "PUBLISH_PROCESSING_DEADLINE_S": _int(env, "TRUSS_PUBLISH_PROCESSING_DEADLINE_S", 1800),
    }


# Publishing OAuth clients, one per platform: (id setting, secret setting) and the provider's
# endpoints (authorize, token, revoke, profile). A platform is offered only when both are set.
PLATFORM_OAUTH = {
    "youtube": (
        ("YOUTUBE_CLIENT_ID", "YOUTUBE_CLIENT_SECRET"),
        (
            "https://accounts.google.com/o/oauth2/v2/auth",
            "https://oauth2.googleapis.com/token",
            "https://oauth2.googleapis.com/revoke",
            "https://www.googleapis.com/youtube/v3/channels",
        ),
    ),
    "tiktok": (
        ("TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET"),
        (
            "https://www.tiktok.com/v2/auth/authorize/",
            "https://open.tiktokapis.com/v2/oauth/token/",
            "https://open.tiktokapis.com/v2/oauth/revoke/",
            "https://open.tiktokapis.com/v2/user/info/",
        ),
    ),
    "twitch": (
        ("TWITCH_CLIENT_ID", "TWITCH_CLIENT_SECRET"),
        (
            "https://id.twitch.tv/oauth2/authorize",
            "https://id.twitch.tv/oauth2/token",
            "https://id.twitch.tv/oauth2/revoke",
            "https://api.twitch.tv/helix/users",
        ),
    ),
    "discord": (
        ("DISCORD_CLIENT_ID", "DISCORD_CLIENT_SECRET"),
        (
            "https://discord.com/oauth2/authorize",
            "https://discord.com/api/oauth2/token",
            "https://discord.com/api/oauth2/token/revoke",
            "https://discord.com/api/users/@me",
        ),
    ),
}
OAUTH_ENDPOINTS = ("AUTHORIZE_URL", "TOKEN_URL", "REVOKE_URL", "PROFILE_URL")


def _platform_oauth_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Connecting YouTube, TikTok, Twitch and Discord for publishing (separate from sign-in's
    GOOGLE_*): e.g. YOUTUBE_CLIENT_ID, YOUTUBE_CLIENT_SECRET, YOUTUBE_AUTHORIZE_URL, ...;
    TRUSS_FAKE_PLATFORMS_URL is the local fakes' origin (`truss dev` sets it)."""
    result: dict[str, Any] = {"FAKE_PLATFORMS_URL": env.get("TRUSS_FAKE_PLATFORMS_URL", "")}
    for platform, (credentials, defaults) in PLATFORM_OAUTH.items():
        for name in credentials:
            result[name] = env.get(name, "")
        for suffix, default in zip(OAUTH_ENDPOINTS, defaults, strict=True):
            name = f"{platform.upper()}_{suffix}"
            result[name] = env.get(name, "") or default
    return result


def _token_settings(env: Mapping[str, str], data_dir: Path, local: bool) -> dict[str, Any]:
    """Platform tokens at rest (a KMS key, else a key file) and their refresh."""
    default_file = str(data_dir / "token-keys") if local else ""
    return {
        "TOKEN_KMS_KEY_ID": env.get("TRUSS_TOKEN_KMS_KEY_ID", ""),
        "TOKEN_KEY_FILE": env.get("TRUSS_TOKEN_KEY_FILE", "") or default_file,
        "TOKEN_KEY_FILE_CREATE": local,  # production never invents a key on its own
        "TOKEN_REFRESH_MARGIN_S": _float(env, "TRUSS_TOKEN_REFRESH_MARGIN_S", 300.0),
        "TOKEN_LOCK_TIMEOUT_S": _float(env, "TRUSS_TOKEN_LOCK_TIMEOUT_S", 30.0),
        "TOKEN_LOCK_WAIT_S": _float(env, "TRUSS_TOKEN_LOCK_WAIT_S", 45.0),
    }


QUOTA_DEFAULTS = {  # self-hosting defaults; 0 or empty means unlimited
    "TRUSS_QUOTA_STORAGE_GB": "20",
    "TRUSS_QUOTA_MINUTES_PER_MONTH": "600",
    "TRUSS_QUOTA_CONCURRENT_ANALYSES": "2",
    "TRUSS_MAX_VIDEO_MINUTES": "240",
    "TRUSS_RATELIMIT_OWN_CLIPS": "30 per hour;200 per day",
    "TRUSS_RATELIMIT_TRIMS": "60 per hour;300 per day",
    "TRUSS_RATELIMIT_REANALYSES": "6 per hour;20 per day",
}
NO_QUOTAS = {name: "" for name in QUOTA_DEFAULTS}


def _quota(env: Mapping[str, str], name: str) -> float:
    """A quota: a number ≥ 0, where 0 or an empty value means unlimited."""
    raw = env.get(name, QUOTA_DEFAULTS[name])
    value = _float({name: raw}, name, 0.0)
    if value < 0 or value != value:
        raise ConfigError(f"{name} must be 0 (unlimited) or more, got {raw!r}")
    return value


def _rate(env: Mapping[str, str], name: str) -> str:
    """A Flask-Limiter rate like '30 per hour;200 per day'; empty means unlimited."""
    from limits import parse_many

    raw = env.get(name, QUOTA_DEFAULTS[name]).strip()
    try:
        parse_many(raw) if raw else None
    except ValueError as exc:
        raise ConfigError(f"{name} must look like '30 per hour;200 per day', got {raw!r}") from exc
    return raw


def _quota_settings(env: Mapping[str, str]) -> dict[str, Any]:
    return {
        "QUOTA_STORAGE_BYTES": int(_quota(env, "TRUSS_QUOTA_STORAGE_GB") * GIB),
        "QUOTA_MINUTES_PER_MONTH": int(_quota(env, "TRUSS_QUOTA_MINUTES_PER_MONTH")),
        "QUOTA_CONCURRENT_ANALYSES": int(_quota(env, "TRUSS_QUOTA_CONCURRENT_ANALYSES")),
        "MAX_VIDEO_MINUTES": int(_quota(env, "TRUSS_MAX_VIDEO_MINUTES")),
        "RATELIMIT_OWN_CLIPS": _rate(env, "TRUSS_RATELIMIT_OWN_CLIPS"),
        "RATELIMIT_TRIMS": _rate(env, "TRUSS_RATELIMIT_TRIMS"),
        "RATELIMIT_REANALYSES": _rate(env, "TRUSS_RATELIMIT_REANALYSES"),
    }


def local_stack_settings(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`truss dev`'s own settings: its ports, names and data directory, and the kept secret."""
    env = os.environ if env is None else env
    data_dir = _data_dir(env)
    return {
        "TRUSS_DATA_DIR": str(data_dir),
        "SECRET_KEY": _secret_key(env, LOCAL, data_dir),
        "PORT": _int(env, "PORT", 5000),
        "MOTO_PORT": _int(env, "TRUSS_MOTO_PORT", 5100),
        "REDIS_PORT": _int(env, "TRUSS_REDIS_PORT", 6380),
        "TRUSS_TABLE": env.get("TRUSS_TABLE", "truss"),
        "TRUSS_BUCKET": env.get("TRUSS_BUCKET", "truss-media"),
        "AWS_REGION": env.get("AWS_REGION", "us-east-1"),
        "FAKE_TWITCH_PORT": _int(env, "TRUSS_FAKE_TWITCH_PORT", 6667),  # 0: the real Twitch
        "FAKE_TWITCH_BURST_S": _int(env, "TRUSS_FAKE_TWITCH_BURST_S", 90),
        "FAKE_PLATFORMS_PORT": _int(env, "TRUSS_FAKE_PLATFORMS_PORT", 5200),  # 0: no fakes
        "REAL_PLATFORM_KEYS": _real_platform_keys(env),
    }


def _real_platform_keys(env: Mapping[str, str]) -> dict[str, str]:
    """The publishing platforms' client ids and the YouTube API key the environment sets:
    `truss dev` points each platform that has none at the local fakes."""
    names = [credentials[0] for credentials, _ in PLATFORM_OAUTH.values()]
    return {name: env.get(name, "") for name in (*names, "YOUTUBE_API_KEY")}


TEST_ENVIRON = {  # what unit tests run in, whatever the shell exported (the rest: defaults)
    "TRUSS_ENV": LOCAL,
    "TRUSS_DATA_DIR": "/tmp/truss-test",
    "SECRET_KEY": "test-secret-key-that-is-long-enough-000000",
    "TRUSS_TABLE": "truss-test",
    "TRUSS_BUCKET": "truss-test-media",
    "AWS_REGION": "us-east-1",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "RATELIMIT_STORAGE_URI": "memory://",
    "GOOGLE_METADATA_URL": "",  # the OAuth tests point these at their fake servers
    "GITHUB_AUTHORIZE_URL": "",
    "GITHUB_TOKEN_URL": "",
    "GITHUB_API_BASE": "",
    "TRUSS_SESSION_IDLE_MINUTES": "60",
    "TRUSS_JOB_TIMEOUT_S": "600",
    "TRUSS_ANALYZER": "signals",
    "TRUSS_MAX_CLIPS": "3",
    "TRUSS_CAPTIONS_RECOGNISER": "off",  # CPU for every render; the captions tests turn it on
    "TRUSS_GEMINI_TRANSCRIPTS": "off",  # one more request per clip; the captions tests turn it on
    "TWITCH_IRC_HOST": "127.0.0.1",
    "TWITCH_IRC_TLS": "false",
    **NO_QUOTAS,  # tests that check a quota set it
}


def test_config(**overrides: Any) -> dict[str, Any]:
    """Settings for unit tests: moto in-process, fakeredis, jobs run inline."""
    return {**from_environ(TEST_ENVIRON), "TESTING": True, "RQ_ASYNC": False, **overrides}
