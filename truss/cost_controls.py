"""The web side of the cost controls: quota settings from the app, Flask-Limiter limits on
the expensive actions keyed on the signed-in creator (not the IP), the account page's meters.

Routes decorate themselves with `own_clip_limit`, `trim_limit` and `reanalysis_limit`, and
call `counts()` once the action was done (something was queued): a refused attempt (a quota,
a form error) doesn't use up the allowance. An empty setting means no limit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask, current_app, g
from flask.wrappers import Response

from truss.auth.session import current_creator
from truss.extensions import get_table, limiter
from truss.services.clips import TrimError
from truss.services.quotas import Meter, QuotaExceeded, Quotas, check_render_room, meters


def quotas() -> Quotas:
    return Quotas.from_config(current_app.config)


def creator_key() -> str:
    """Rate-limit key: the signed-in creator, so one creator's limits are theirs alone."""
    return "creator:" + current_creator().id


DONE = "truss_limited_action_done"


def counts() -> None:
    """This request did the limited action: Flask-Limiter counts it (`deduct_when`)."""
    setattr(g, DONE, True)


def _done(response: Response) -> bool:
    return bool(g.get(DONE, False))


def _setting(name: str) -> Callable[[], str]:
    return lambda: str(current_app.config.get(name) or "")


def _window(amount: int, unit: str) -> str:
    return unit if amount == 1 else f"{amount} {unit}s"


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def refusal(doing: str) -> Callable[[], str]:
    """The 429 message: which limit, that it is used up, and when it frees up again."""

    def message() -> str:
        hit = limiter.current_limit
        if hit is None:  # not expected: Flask-Limiter sets it before raising
            return f"You've {doing} as often as allowed for now. Wait a while and try again."
        item = hit.limit
        window = _window(item.multiples, item.GRANULARITY.name)
        again = datetime.fromtimestamp(hit.reset_at, UTC)
        return (
            f"You've {doing} {_times(item.amount)} in the last {window}, the most allowed. "
            f"You can do it again after {again:%H:%M} UTC on {again.day} {again:%B}."
        )

    return message


own_clip_limit = limiter.limit(
    _setting("RATELIMIT_OWN_CLIPS"), key_func=creator_key, scope="own-clips", deduct_when=_done,
    error_message=refusal("made clips of your own"),
)  # fmt: skip
trim_limit = limiter.limit(
    _setting("RATELIMIT_TRIMS"), key_func=creator_key, scope="trims", deduct_when=_done,
    error_message=refusal("trimmed clips"),
)  # fmt: skip
reanalysis_limit = limiter.limit(
    _setting("RATELIMIT_REANALYSES"), key_func=creator_key, scope="reanalyses", deduct_when=_done,
    error_message=refusal("asked for an analysis again"),
)  # fmt: skip


def render_room() -> None:
    """A clip of one's own or a trim is refused while the creator's storage is full (the
    message shows in the form, like any other reason the window can't be rendered)."""
    try:
        check_render_room(get_table(), current_creator().id, quotas())
    except QuotaExceeded as exc:
        raise TrimError({"start": str(exc)}) from exc


def account_meters() -> list[Meter]:
    """Usage against quota for the signed-in creator (the account page's partial)."""
    return meters(get_table(), current_creator().id, quotas())


def action_limits() -> list[tuple[str, str]]:
    config = current_app.config
    return [
        (label, ", ".join(str(config.get(name) or "").split(";")) or "no limit")
        for label, name in (
            ("Clips of your own", "RATELIMIT_OWN_CLIPS"),
            ("Trims", "RATELIMIT_TRIMS"),
            ("Analysing a video again", "RATELIMIT_REANALYSES"),
        )
    ]


def register_templates(app: Flask) -> None:
    """`account_meters()` and `action_limits()` for templates/auth/_usage.html."""
    app.add_template_global(account_meters)
    app.add_template_global(action_limits)
