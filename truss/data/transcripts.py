"""The pointer to a clip's word-timed transcript, kept on the clip item (`CLIP#<clid>`).

The words themselves (JSON) live in S3 under the clip's prefix (`keys.clip_transcript_object`),
so a long transcript never presses on the item's 400 KB; the item keeps where it is, where
it came from, and its lowercased words for the clips search (`transcript_words`)."""

from __future__ import annotations

from boto3.dynamodb.conditions import Attr

from truss.data import keys
from truss.data.clips import CLIP_TYPE
from truss.data.creators import utc_now_iso
from truss.data.table import Table

SEARCH_CHARS = 20_000  # of the transcript's words kept for search (a long clip's first ones)


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
