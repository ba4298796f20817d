"""The pointer to a clip's word-timed transcript, kept on the clip item (`CLIP#<clid>`).

The words themselves (JSON) live in S3 under the clip's prefix (`keys.clip_transcript_object`),
so a long transcript never presses on the item's 400 KB; the item keeps where it is, where
it came from, and its lowercased words for the clips search (`transcript_words`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Attr

from truss.data import keys
from truss.data.clips import CLIP_TYPE
from truss.data.creators import utc_now_iso
from truss.data.table import Table

SEARCH_CHARS = 20_000  # of the transcript's words kept for search (a long clip's first ones)


@dataclass(frozen=True)
class Pointer:
    object_key: str
    source: str
    corrected: bool


def search_words(text: str) -> str:
    return " ".join(text.lower().split())[:SEARCH_CHARS]


def point(
    table: Table, cid: str, clid: str, object_key: str, source: str, corrected: bool, text: str
) -> None:
    """Point the clip at its (already written) transcript object; Conflict if the clip is
    gone."""
    table.update(
        keys.clip(cid, clid),
        {
            "transcript_key": object_key,
            "transcript_source": source,
            "transcript_corrected": corrected,
            "transcript_words": search_words(text),
            "updated_at": utc_now_iso(),
        },
        condition=Attr("type").eq(CLIP_TYPE),
    )


def pointer_of(item: dict[str, Any]) -> Pointer | None:
    """The transcript pointer on a clip item, if any."""
    key = item.get("transcript_key")
    if not key:
        return None
    source = str(item.get("transcript_source", ""))
    return Pointer(str(key), source, bool(item.get("transcript_corrected", False)))


def find(table: Table, cid: str, clid: str) -> Pointer | None:
    """The clip's transcript pointer (NotFound when the clip isn't the creator's)."""
    return pointer_of(table.get_typed(keys.clip(cid, clid), CLIP_TYPE))
