"""Provider failures in words: ProviderError, and the provider's own words and code read from
whatever its error body looks like (never the text of authlib's or requests' exceptions: they
can hold URLs)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError

from truss.publishing.providers.specs import Spec

# What a refresh answer means for the connection: refused (reconnect) vs. try again later.
REFUSED_ERRORS = {"invalid_grant", "bad request", "invalid_token", "invalid_request"}
TRANSIENT_ERRORS = {"temporarily_unavailable", "server_error", "rate_limit_exceeded"}
MAX_PROVIDER_WORDS = 200


class ProviderError(Exception):
    """A provider call failed. The message is for the creator (what happened, what to do, the
    provider's own words and code); `transient` says trying again later may work."""

    def __init__(self, message: str, code: str = "", transient: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.transient = transient


def _json_or_none(answer: requests.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return None


def _words(body: Any, status: int) -> tuple[str, str]:
    """The provider's own words and code from its error body (each provider's shape)."""
    code, words = "", ""
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):  # Google {"error": {...}}, TikTok {"error": {code, message}}
            code = str(error.get("code") or error.get("status") or "")
            words = str(error.get("message") or "")
        elif error:
            code = str(error)
            words = str(body.get("error_description") or body.get("message") or "")
        else:  # Discord {"message", "code"}, Twitch {"status", "message"}
            code = str(body.get("code") or body.get("status") or "")
            words = str(body.get("message") or "")
    said = "; ".join(x for x in (words[:MAX_PROVIDER_WORDS], code and f"code {code}") if x)
    return said or f"HTTP {status}", code or str(status)


def _noting(statuses: list[int]) -> Callable[[requests.Response], requests.Response]:
    """An authlib compliance hook that notes the token endpoint's HTTP status."""

    def hook(response: requests.Response) -> requests.Response:
        statuses.append(response.status_code)
        return response

    return hook


def _provider_error(s: Spec, what: str, exc: BaseException, status: int = 0) -> ProviderError:
    """A ProviderError in words from whatever authlib/requests raised (never its text: it can
    hold URLs). `status`: the HTTP status, when known (429 and 5xx are worth retrying)."""
    if isinstance(exc, AuthlibBaseError):
        code = str(getattr(exc, "error", "") or "error")
        words = str(getattr(exc, "description", "") or "")[:MAX_PROVIDER_WORDS]
        said = f"{words}; code {code}" if words else f"code {code}"
        transient = status == 429 or status >= 500 or code in TRANSIENT_ERRORS
        return ProviderError(
            f"{s.label} {what} ({said}). Try connecting again.", code, transient=transient
        )
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        status = exc.response.status_code
        said, code = _words(_json_or_none(exc.response), status)
        return ProviderError(
            f"{s.label} {what} ({said}). Try again in a minute.", code, transient=True
        )
    if isinstance(exc, requests.RequestException):
        return ProviderError(
            f"{s.label} {what}: it didn't answer. Try again in a minute.",
            "unreachable",
            transient=True,
        )
    return ProviderError(
        f"{s.label} {what}: its answer wasn't what we expected. Try connecting again.",
        "bad-answer",
    )
