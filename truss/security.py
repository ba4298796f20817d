"""Response headers every page gets: CSP without inline script, framing and sniffing off."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, current_app

from truss.publishing.providers import PLATFORMS, client_settings, configured


def _s3_origin() -> str:
    """Where the browser may send uploads and fetch media (the S3 endpoint it is shown)."""
    endpoint = current_app.config.get("S3_PUBLIC_ENDPOINT", "")
    if endpoint:
        parts = urlsplit(endpoint)
        return f"{parts.scheme}://{parts.netloc}"
    bucket = current_app.config["TRUSS_BUCKET"]
    region = current_app.config["AWS_REGION"]
    # boto3 presigns with the global virtual host (bucket.s3.amazonaws.com) in every region.
    hosts = (f"{bucket}.s3.amazonaws.com", f"{bucket}.s3.{region}.amazonaws.com")
    return " ".join(f"https://{host}" for host in hosts)


# Where connected accounts' pictures come from: YouTube channel thumbnails (the Data API's
# channels.list gives yt3.ggpht.com URLs, the same images are also served from
# yt3.googleusercontent.com), TikTok's avatar_url (many numbered hosts under its CDNs), Discord
# and Twitch. No wildcard over googleusercontent.com: it also serves other users' content.
AVATAR_ORIGINS = (
    "https://yt3.ggpht.com https://yt3.googleusercontent.com https://*.tiktokcdn.com "
    "https://*.tiktokcdn-us.com https://cdn.discordapp.com https://static-cdn.jtvnw.net"
)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _platform_origins() -> tuple[str, str]:
    """(the publishing providers' consent pages, which the Connect buttons' forms redirect to;
    the local fake platforms, whose avatars and received videos local pages show)."""
    config = current_app.config
    consent = {
        _origin(client_settings(p, config).authorize_url)
        for p in PLATFORMS
        if configured(p, config)
    }
    local = config.get("TRUSS_ENV") == "local"
    fake = _origin(str(config.get("FAKE_PLATFORMS_URL") or "")) if local else ""
    return " ".join(sorted(consent - {""})), fake


def content_security_policy() -> str:
    s3 = _s3_origin()
    consent, fake = _platform_origins()
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: {s3} {AVATAR_ORIGINS} {fake}".rstrip(),
            f"media-src 'self' blob: {s3} {fake}".rstrip(),
            f"connect-src 'self' {s3}",
            "object-src 'none'",
            "base-uri 'self'",
            f"form-action 'self' {consent}".rstrip(),
            "frame-ancestors 'none'",
        ]
    )


def install_security_headers(app: Flask) -> None:
    @app.after_request
    def add_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", content_security_policy())
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        if app.config.get("TRUSS_ENV") == "production":
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
