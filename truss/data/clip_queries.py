"""The clips page's query: one Query per DynamoDB page, filters in a FilterExpression.

What the key serves and what the filter serves:

- newest first: the key. `PK = CREATOR#<cid> AND begins_with(SK, "CLIP#")`, descending
  (clip ids are ULIDs, so SK order is creation order).
- best score first: the key. GSI1 `GSI1PK = CREATOR#<cid> AND begins_with(GSI1SK,
  "CLIPSCORE#")`, descending; GSI1SK is `CLIPSCORE#<score, 3 digits>#<clid>`, so the order
  is exact across pages (ties: newest first). GSI reads are eventually consistent.
- one video, newest first: the key. GSI2 `GSI2PK = ASSET_CLIPS#<cid>#<aid> AND
  begins_with(GSI2SK, "CLIP#")`, descending: only that video's clips are read.
- video (with best score first), minimum score, render status, source, search words: the
  FilterExpression (`asset_id =`, `score >=`, `render_status IN`, `source IN` (with the
  source's pre-issue-12 value, for items `truss init` hasn't rewritten yet), one
  `contains(search_text, word)` per word).

A filter is applied after the read: filtered-out clips still cost read capacity and count
towards `Limit`, so a page can come back short. `fill_page` keeps querying until the page is
full, the partition ends, or `max_queries` have run; the cursor always points just past the
last clip read, so nothing is skipped or repeated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce

from boto3.dynamodb.conditions import Attr, ConditionBase

from truss.data import clips, keys
from truss.data.clips import CLIP_TYPE, FAILED, PENDING, READY, RENDERING, Clip
from truss.data.table import Table

NEWEST = "newest"
BEST = "score"
SORTS = {NEWEST: "Newest first", BEST: "Best score first"}
STATUS_FILTERS = {
    READY: ("Ready", (READY,)),
    "working": ("Rendering", (PENDING, RENDERING)),
    FAILED: ("Failed", (FAILED,)),
}
SOURCE_FILTERS = {
    clips.CHAT: "Chat spikes",
    clips.SIGNALS: "Signal analyzer",
    clips.GEMINI: "Gemini",
    clips.MANUAL: "Your picks",
}
MAX_WORDS = 8


@dataclass(frozen=True)
class ClipFilters:
    asset_id: str = ""
    min_score: int | None = None
    status: str = ""
    words: tuple[str, ...] = ()
    sort: str = NEWEST
    source: str = ""

    @property
    def active(self) -> bool:
        return bool(
            self.asset_id or self.min_score is not None or self.status or self.words
            or self.source
        )  # fmt: skip


@dataclass
class ClipPage:
    clips: list[Clip] = field(default_factory=list)
    cursor: str | None = None
    queries: int = 0


def search_words(text: str) -> tuple[str, ...]:
    """Lowercased distinct words of a search box (at most MAX_WORDS)."""
    seen: dict[str, None] = {}
    for word in text.lower().split():
        seen.setdefault(word, None)
    return tuple(seen)[:MAX_WORDS]


def filter_expression(filters: ClipFilters) -> ConditionBase:
    """Every filter as one FilterExpression (always: only clip items)."""
    parts: list[ConditionBase] = [Attr("type").eq(CLIP_TYPE)]
    if filters.asset_id:
        parts.append(Attr("asset_id").eq(filters.asset_id))
    if filters.min_score is not None:
        parts.append(Attr("score").gte(filters.min_score))
    if filters.status:
        parts.append(Attr("render_status").is_in(list(STATUS_FILTERS[filters.status][1])))
    if filters.source:
        parts.append(source_condition(filters.source))
    parts += [word_condition(word) for word in filters.words]
    return reduce(lambda left, right: left & right, parts)


def word_condition(word: str) -> ConditionBase:
    """A search word in the title, hook or hashtags, or among the clip's transcript words."""
    return Attr("search_text").contains(word) | Attr("transcript_words").contains(word)


def source_condition(source: str) -> ConditionBase:
    """Clips from `source`, also those still stored with its old value (or none at all)."""
    old = [value for value, new in clips.LEGACY_SOURCES.items() if new == source and value]
    condition: ConditionBase = Attr("source").is_in([source, *old])
    if clips.LEGACY_SOURCES.get("") == source:
        condition = condition | Attr("source").not_exists()
    return condition


def key_path(cid: str, filters: ClipFilters) -> tuple[str, str, str | None]:
    """(partition, sort-key prefix, index) that serves the sort and, if it can, the video."""
    if filters.sort == BEST:
        return keys.creator_pk(cid), keys.clip_score_prefix(), "GSI1"
    if filters.asset_id:
        return keys.asset_clips_pk(cid, filters.asset_id), keys.clip_prefix(), keys.GSI2
    return keys.creator_pk(cid), keys.clip_prefix(), None


def query_page(
    table: Table, cid: str, filters: ClipFilters, cursor: str | None, limit: int
) -> tuple[list[Clip], str | None]:
    """One DynamoDB Query: at most `limit` clips read, the matching ones returned."""
    pk, prefix, index = key_path(cid, filters)
    items, next_cursor = table.page(
        pk,
        prefix,
        owner=cid,
        limit=limit,
        cursor=cursor,
        newest_first=True,
        index=index,
        filter_expression=filter_expression(filters),
    )
    return [Clip.from_item(item) for item in items], next_cursor


def fill_page(
    table: Table,
    cid: str,
    filters: ClipFilters,
    cursor: str | None = None,
    page_size: int = 24,
    max_queries: int = 5,
) -> ClipPage:
    """Query until `page_size` matches, the end, or `max_queries` (then the page is short).

    Each Query's Limit is what is still missing, so a page never holds more than page_size
    and the cursor is exact."""
    page = ClipPage(cursor=cursor)
    while page.queries < max_queries:
        found, page.cursor = query_page(
            table, cid, filters, page.cursor, page_size - len(page.clips)
        )
        page.queries += 1
        page.clips += found
        if len(page.clips) >= page_size or page.cursor is None:
            break
    return page
