"""What a browser sends as `Referer` under a page's `Referrer-Policy` (the W3C algorithm).

The Flask test client sends no Referer by itself; tests that post a page's form use this to
send exactly what a browser would, derived from the page's own response header.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

POLICIES = {
    "no-referrer",
    "no-referrer-when-downgrade",
    "same-origin",
    "origin",
    "strict-origin",
    "origin-when-cross-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
}
DEFAULT_POLICY = "strict-origin-when-cross-origin"


def effective_policy(header: str | None) -> str:
    """The last policy in the header that the browser knows (unknown tokens are skipped)."""
    known = [token.strip().lower() for token in (header or "").split(",")]
    known = [token for token in known if token in POLICIES]
    return known[-1] if known else DEFAULT_POLICY


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def referrer(page_url: str, policy_header: str | None, target_url: str) -> str | None:
    """The Referer a browser sends from page_url to target_url, or None when it sends none."""
    policy = effective_policy(policy_header)
    page = urlsplit(page_url)
    full = urlunsplit((page.scheme, page.netloc, page.path, page.query, ""))
    origin_only = f"{page.scheme}://{page.netloc}/"
    same_origin = _origin(page_url) == _origin(target_url)
    downgrade = page.scheme == "https" and urlsplit(target_url).scheme != "https"
    if policy == "no-referrer":
        return None
    if policy == "unsafe-url":
        return full
    if policy == "origin":
        return origin_only
    if policy == "same-origin":
        return full if same_origin else None
    if policy == "strict-origin":
        return None if downgrade else origin_only
    if policy == "origin-when-cross-origin":
        return full if same_origin else origin_only
    if policy == "no-referrer-when-downgrade":
        return None if downgrade else full
    # strict-origin-when-cross-origin
    if same_origin:
        return full
    return None if downgrade else origin_only
