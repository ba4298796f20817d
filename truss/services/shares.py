"""What a stranger with a share link may see: one live share's clip, nothing else."""

from __future__ import annotations

from truss.data import clips, shares
from truss.data.clips import Clip
from truss.data.table import NotFound, Table


class ShareGone(Exception):
    """The link existed but was revoked, or its clip was deleted."""


def open_share(table: Table, token: str) -> Clip:
    """The shared clip; NotFound for a token that never existed, ShareGone for a dead one."""
    share = shares.get(table, token)
    if not share.live:
        raise ShareGone(token)
    try:
        clip = clips.get(table, share.creator_id, share.clip_id)
    except NotFound as exc:
        raise ShareGone(token) from exc
    if clip.share_token != token:
        raise ShareGone(token)
    return clip
