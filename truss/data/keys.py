"""Every DynamoDB key template in Truss: build and parse. Nothing else joins keys with '#'."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

SEP = "#"
ID_PATTERN = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")  # a ULID (Crockford base32, 128 bits)


class KeyError_(ValueError):
    """A key string that does not match its template."""


@dataclass(frozen=True)
class KeyTemplate:
    """A key made of a fixed prefix and named parts, e.g. CREATOR#<cid>."""

    prefix: str
    parts: tuple[str, ...] = ()
    open_last: bool = False  # the last part may itself contain '#'

    def build(self, *values: str) -> str:
        if len(values) != len(self.parts):
            raise KeyError_(f"{self.prefix} needs {len(self.parts)} parts, got {len(values)}")
        for value in values[: len(values) - 1 if self.open_last else len(values)]:
            if not value or SEP in value:
                raise KeyError_(f"key part {value!r} is empty or contains {SEP!r}")
        return SEP.join((self.prefix, *values))

    def parse(self, key: str) -> tuple[str, ...]:
        head = self.prefix + (SEP if self.parts else "")
        if not key.startswith(head) if self.parts else key != self.prefix:
            raise KeyError_(f"{key!r} is not a {self.prefix} key")
        if not self.parts:
            return ()
        rest = key[len(head) :]
        values = tuple(rest.split(SEP, len(self.parts) - 1 if self.open_last else -1))
        if len(values) != len(self.parts) or not all(values):
            raise KeyError_(f"{key!r} does not match {self.prefix}#{'#'.join(self.parts)}")
        return values

    def prefix_for(self, *leading: str) -> str:
        """A begins_with prefix: the template's head plus any leading parts."""
        return SEP.join((self.prefix, *leading)) + SEP


# Partition keys
CREATOR = KeyTemplate("CREATOR", ("cid",))
EMAIL = KeyTemplate("EMAIL", ("email",))
IDENTITY = KeyTemplate("IDENTITY", ("provider", "subject"), open_last=True)
MAGIC = KeyTemplate("MAGIC", ("token_sha256",))
SHARE = KeyTemplate("SHARE", ("token",))
ASSET_CLIPS = KeyTemplate("ASSET_CLIPS", ("cid", "aid"))  # GSI2PK: one asset's clips

# Sort keys
METADATA = KeyTemplate("METADATA")
CREATOR_REF = KeyTemplate("CREATOR")
VERIFY = KeyTemplate("VERIFY")
CLIP_REF = KeyTemplate("CLIP")
ASSET = KeyTemplate("ASSET", ("aid",))
ASSET_CHAPTERS = KeyTemplate("ASSET", ("aid", "kind"))
ASSET_STATUS = KeyTemplate("ASSET", ("status", "created"))  # GSI1SK
CLIP = KeyTemplate("CLIP", ("clid",))
CLIP_SCORE = KeyTemplate("CLIPSCORE", ("score", "clid"))  # GSI1SK: clips by score
STREAM = KeyTemplate("STREAM", ("sid",))
CHAT_SPIKE = KeyTemplate("LIVE_CHAT_SPIKE", ("sid", "offset"))
CHAT_LEXICON = KeyTemplate("CHAT_LEXICON")  # the creator's emote/keyword weights (one item)
ANALYTICS_DAILY = KeyTemplate("ANALYTICS", ("period", "day"))
ANALYTICS_DAY_PART = KeyTemplate("ANALYTICS", ("period", "day", "part"))  # s<n>, platform
PLATFORM_TOKEN = KeyTemplate("PLATFORM_TOKEN", ("platform",))
PUBLICATION = KeyTemplate("PUBLICATION", ("clid", "platform"))  # one clip's post on a platform
USAGE = KeyTemplate("USAGE")  # a creator's running totals (bytes stored)
USAGE_MONTH = KeyTemplate("USAGE", ("month",))  # seconds of video analysed in a UTC month
HEALTH = KeyTemplate("HEALTH")  # PK and SK of the key readiness reads; no item ever has it
SCHEMA = KeyTemplate("SCHEMA")  # PK and SK of the table's schema marker (backfills done)
EXPORT = KeyTemplate("EXPORT", ("eid",))  # one archive of the creator's data (expires)
IMPORT = KeyTemplate("IMPORT", ("iid",))  # one archive being brought in (progress, resume)
DELETION = KeyTemplate("DELETION", ("ticket",))  # an account deletion's progress (no creator id)
DELETION_STATUS = KeyTemplate("STATUS")

ALL_TEMPLATES: tuple[KeyTemplate, ...] = (
    CREATOR, EMAIL, IDENTITY, MAGIC, SHARE, METADATA, CREATOR_REF, VERIFY, CLIP_REF,
    ASSET, ASSET_CHAPTERS, ASSET_STATUS, CLIP, CLIP_SCORE, STREAM, CHAT_SPIKE, ANALYTICS_DAILY,
    PLATFORM_TOKEN, CHAT_LEXICON, ASSET_CLIPS, USAGE, USAGE_MONTH, HEALTH, SCHEMA, PUBLICATION,
    EXPORT, IMPORT, DELETION, DELETION_STATUS, ANALYTICS_DAY_PART,
)  # fmt: skip

# Sort keys an item under a creator's partition may have: an import refuses any other, so a
# new kind of creator item must be added here to come back through export/import.
CREATOR_ITEM_SKS: tuple[KeyTemplate, ...] = (
    METADATA, USAGE, USAGE_MONTH, ASSET, ASSET_CHAPTERS, CLIP, STREAM, CHAT_SPIKE, CHAT_LEXICON,
    ANALYTICS_DAILY, ANALYTICS_DAY_PART, PLATFORM_TOKEN, PUBLICATION, EXPORT, IMPORT,
)  # fmt: skip


def is_creator_item_sk(sk: str) -> bool:
    """Whether `sk` is one of the sort keys a creator's own items have (CREATOR_ITEM_SKS)."""
    for template in CREATOR_ITEM_SKS:
        try:
            template.parse(sk)
        except KeyError_:
            continue
        return True
    return False


Key = dict[str, str]


def is_id(value: str) -> bool:
    """Whether `value` can be a Truss id (an upper-case ULID): check ids taken from a request
    before building keys from them (DynamoDB refuses a whole batch for one over-long key)."""
    return ID_PATTERN.fullmatch(value) is not None


def normalise_email(email: str) -> str:
    return email.strip().lower()


def creator_pk(cid: str) -> str:
    return CREATOR.build(cid)


def creator_id_from_pk(pk: str) -> str:
    return CREATOR.parse(pk)[0]


def creator_profile(cid: str) -> Key:
    return {"PK": creator_pk(cid), "SK": METADATA.build()}


def email_owner(email: str) -> Key:
    return {"PK": EMAIL.build(normalise_email(email)), "SK": CREATOR_REF.build()}


def identity_owner(provider: str, subject: str) -> Key:
    return {"PK": IDENTITY.build(provider, subject), "SK": CREATOR_REF.build()}


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def magic_link(token: str) -> Key:
    """The key of a magic-link token: only ever its SHA-256, never the raw token."""
    return {"PK": MAGIC.build(token_sha256(token)), "SK": VERIFY.build()}


def asset(cid: str, aid: str) -> Key:
    return {"PK": creator_pk(cid), "SK": ASSET.build(aid)}


def asset_id_from_sk(sk: str) -> str:
    return ASSET.parse(sk)[0]


def asset_status_index(cid: str, status: str, created: str) -> Key:
    """GSI1 attributes that list a creator's assets by status, newest last."""
    return {"GSI1PK": creator_pk(cid), "GSI1SK": ASSET_STATUS.build(status, created)}


def asset_status_prefix(status: str) -> str:
    return ASSET_STATUS.prefix_for(status)


def _creator_object_prefix(cid: str, kind: str, item_id: str) -> str:
    """`creators/<cid>/<kind>/<id>/`, with both ids checked so no key can escape its prefix."""
    for part in (cid, item_id):
        if not part or "/" in part or SEP in part:
            raise KeyError_(f"object key part {part!r} is empty or contains '/' or {SEP!r}")
    return f"creators/{cid}/{kind}/{item_id}/"


def asset_object_prefix(cid: str, aid: str) -> str:
    """S3 prefix of every object that belongs to one asset (source, thumbnails, renders)."""
    return _creator_object_prefix(cid, "assets", aid)


def asset_source_object(cid: str, aid: str) -> str:
    """S3 key of an asset's uploaded video: server-made, never the client's file name."""
    return asset_object_prefix(cid, aid) + "source"


def asset_chapters_object(cid: str, aid: str) -> str:
    """S3 key of an asset's chapters when they are too big to keep inline on the item."""
    return asset_object_prefix(cid, aid) + "chapters.json"


def asset_chapters(cid: str, aid: str) -> Key:
    return {"PK": creator_pk(cid), "SK": ASSET_CHAPTERS.build(aid, "CHAPTERS")}


def asset_prefix(aid: str | None = None) -> str:
    """SK prefix of every asset (None) or of one asset and everything under it."""
    return ASSET.prefix_for(aid) if aid else ASSET.prefix_for()


def clip(cid: str, clid: str) -> Key:
    return {"PK": creator_pk(cid), "SK": CLIP.build(clid)}


def clip_id_from_sk(sk: str) -> str:
    return CLIP.parse(sk)[0]


def clip_prefix() -> str:
    return CLIP.prefix_for()


CLIP_SCORE_DIGITS = 3  # scores are 0-100


def clip_score_index(cid: str, score: int, clid: str) -> Key:
    """GSI1 attributes that list a creator's clips by score (zero-padded, so text order is
    number order; a descending Query is best first, ties newest first)."""
    padded = str(min(max(int(score), 0), 10**CLIP_SCORE_DIGITS - 1)).zfill(CLIP_SCORE_DIGITS)
    return {"GSI1PK": creator_pk(cid), "GSI1SK": CLIP_SCORE.build(padded, clid)}


def clip_score_prefix() -> str:
    return CLIP_SCORE.prefix_for()


# GSI2 (overloaded): a creator's assets without the items stored under them (the library),
# and one asset's clips without the creator's other clips (the asset page, delete, reconcile).
GSI2 = "GSI2"


def library_index(cid: str, aid: str) -> Key:
    """GSI2 attributes of an asset item only (never its chapters): the library, newest first."""
    return {"GSI2PK": creator_pk(cid), "GSI2SK": ASSET.build(aid)}


def asset_clips_pk(cid: str, aid: str) -> str:
    return ASSET_CLIPS.build(cid, aid)


def asset_clips_index(cid: str, aid: str, clid: str) -> Key:
    """GSI2 attributes of a clip: `ASSET_CLIPS#<cid>#<aid>` / `CLIP#<clid>`."""
    return {"GSI2PK": asset_clips_pk(cid, aid), "GSI2SK": CLIP.build(clid)}


def share(token: str) -> Key:
    return {"PK": SHARE.build(token), "SK": CLIP_REF.build()}


def share_token_from_pk(pk: str) -> str:
    return SHARE.parse(pk)[0]


def stream(cid: str, sid: str) -> Key:
    return {"PK": creator_pk(cid), "SK": STREAM.build(sid)}


def chat_lexicon(cid: str) -> Key:
    """`CHAT_LEXICON`: the creator's chat lexicon, one item (absent: the default lexicon)."""
    return {"PK": creator_pk(cid), "SK": CHAT_LEXICON.build()}


SPIKE_OFFSET_DIGITS = 7  # tenths of a second: 11.5 days; text order is time order


def spike_offset(offset_s: float) -> str:
    """A spike's offset as its key part: tenths of a second, zero-padded."""
    tenths = min(max(round(offset_s * 10), 0), 10**SPIKE_OFFSET_DIGITS - 1)
    return str(tenths).zfill(SPIKE_OFFSET_DIGITS)


def chat_spike(cid: str, sid: str, offset_s: float) -> Key:
    """`LIVE_CHAT_SPIKE#<sid>#<offset>`: one Query lists a stream's spikes in time order."""
    return {"PK": creator_pk(cid), "SK": CHAT_SPIKE.build(sid, spike_offset(offset_s))}


def chat_spike_prefix(sid: str) -> str:
    return CHAT_SPIKE.prefix_for(sid)


def stream_id_from_sk(sk: str) -> str:
    return STREAM.parse(sk)[0]


def stream_prefix() -> str:
    return STREAM.prefix_for()


def asset_stream_link(cid: str, aid: str) -> Key:
    """`ASSET#<aid>#STREAM`: which stream an asset's video belongs to (deleted with the asset)."""
    return {"PK": creator_pk(cid), "SK": ASSET_CHAPTERS.build(aid, "STREAM")}


def stream_archive_prefix(cid: str, sid: str) -> str:
    """S3 prefix of a stream's chat archive (gzip JSON-lines chunks, an imported file)."""
    return _creator_object_prefix(cid, "streams", sid)


def stream_import_object(cid: str, sid: str) -> str:
    """S3 key of an uploaded chat file: server-made, never the client's file name."""
    return stream_archive_prefix(cid, sid) + "import"


def analytics_daily(cid: str, day: str) -> Key:
    return {"PK": creator_pk(cid), "SK": ANALYTICS_DAILY.build("DAILY", day)}


ANALYTICS_PERIOD_DAILY = "DAILY"
ANALYTICS_RANGE_END = "~"  # sorts after every part name: the last day's parts are in range


def analytics_day_part(cid: str, day: str, part: str) -> Key:
    """`ANALYTICS#DAILY#<yyyy-mm-dd>#<part>`: one part of a UTC day's figures (a counter
    shard `s<n>`, or `platform`); a day's parts share the prefix, so a range is one Query."""
    return {
        "PK": creator_pk(cid),
        "SK": ANALYTICS_DAY_PART.build(ANALYTICS_PERIOD_DAILY, day, part),
    }


def analytics_day_range(first: str, last: str) -> tuple[str, str]:
    """SK bounds (BETWEEN, inclusive) of every part of the days first..last (yyyy-mm-dd)."""
    low = ANALYTICS_DAILY.prefix_for(ANALYTICS_PERIOD_DAILY, first)
    return low, ANALYTICS_DAILY.prefix_for(ANALYTICS_PERIOD_DAILY, last) + ANALYTICS_RANGE_END


def asset_cost(cid: str, aid: str) -> Key:
    """`ASSET#<aid>#COST`: what one video's analysis and renders consumed (deleted with it)."""
    return {"PK": creator_pk(cid), "SK": ASSET_CHAPTERS.build(aid, "COST")}


def analytics_day_part_from_sk(sk: str) -> tuple[str, str]:
    """(day, part) of an `ANALYTICS#DAILY#<day>#<part>` sort key."""
    _, day, part = ANALYTICS_DAY_PART.parse(sk)
    return day, part


def platform_token(cid: str, platform: str) -> Key:
    return {"PK": creator_pk(cid), "SK": PLATFORM_TOKEN.build(platform)}


def publication(cid: str, clid: str, platform: str) -> Key:
    """`PUBLICATION#<clid>#<platform>`: one clip's post on one platform."""
    return {"PK": creator_pk(cid), "SK": PUBLICATION.build(clid, platform)}


def publication_prefix(clid: str | None = None) -> str:
    """SK prefix of every post of a creator (None) or of one clip."""
    return PUBLICATION.prefix_for(clid) if clid else PUBLICATION.prefix_for()


def publication_from_sk(sk: str) -> tuple[str, str]:
    """(clip id, platform) of a PUBLICATION sort key."""
    clid, platform = PUBLICATION.parse(sk)
    return clid, platform


def health_probe() -> Key:
    """The key readiness reads (GetItem): no item has it, so the read returns nothing."""
    return {"PK": HEALTH.build(), "SK": HEALTH.build()}


def schema_marker() -> Key:
    """The one item that records which schema version's backfill has finished."""
    return {"PK": SCHEMA.build(), "SK": SCHEMA.build()}


def usage_backfill_marker() -> Key:
    """The item that records that storage used before quotas existed has been counted."""
    return {"PK": SCHEMA.build(), "SK": USAGE.build()}


def usage(cid: str) -> Key:
    """A creator's storage counter (bytes of sources and renders), kept with atomic ADDs."""
    return {"PK": creator_pk(cid), "SK": USAGE.build()}


def usage_month(cid: str, month: str) -> Key:
    """Seconds of video analysed in one calendar month (UTC), `month` as yyyy-mm."""
    return {"PK": creator_pk(cid), "SK": USAGE_MONTH.build(month)}


def asset_thumbnail_object(cid: str, aid: str) -> str:
    """S3 key of an asset's poster thumbnail (made by the analysis job)."""
    return asset_object_prefix(cid, aid) + "thumbnail.jpg"


def clip_object_prefix(cid: str, clid: str) -> str:
    """S3 prefix of every file of one clip (each render under its own render id)."""
    for part in (cid, clid):
        if not part or "/" in part or SEP in part:
            raise KeyError_(f"object key part {part!r} is empty or contains '/' or {SEP!r}")
    return f"creators/{cid}/clips/{clid}/"


def clip_video_object(cid: str, clid: str, render_id: str) -> str:
    return clip_object_prefix(cid, clid) + f"{render_id}.mp4"


def clip_poster_object(cid: str, clid: str, render_id: str) -> str:
    return clip_object_prefix(cid, clid) + f"{render_id}.jpg"


def creator_object_root(cid: str) -> str:
    """`creators/<cid>/`: the S3 prefix of every object of one creator."""
    if not cid or "/" in cid or SEP in cid:
        raise KeyError_(f"object key part {cid!r} is empty or contains '/' or {SEP!r}")
    return f"creators/{cid}/"


def export(cid: str, eid: str) -> Key:
    """`EXPORT#<eid>`: one archive of the creator's data, its progress and S3 key."""
    return {"PK": creator_pk(cid), "SK": EXPORT.build(eid)}


def export_prefix() -> str:
    return EXPORT.prefix_for()


def export_archive_object(cid: str, eid: str) -> str:
    return _creator_object_prefix(cid, "exports", eid) + "truss-export.zip"


def import_(cid: str, iid: str) -> Key:
    """`IMPORT#<iid>`: one archive being brought in under the creator (progress, resume)."""
    return {"PK": creator_pk(cid), "SK": IMPORT.build(iid)}


def import_prefix() -> str:
    return IMPORT.prefix_for()


def import_archive_object(cid: str, iid: str) -> str:
    return _creator_object_prefix(cid, "imports", iid) + "archive.zip"


def account_deletion(ticket: str) -> Key:
    """`DELETION#<ticket>` / `STATUS`: one account deletion's progress, under a random ticket
    (not the creator's partition, which the deletion empties; the creator id goes at the end)."""
    return {"PK": DELETION.build(ticket), "SK": DELETION_STATUS.build()}


def clip_transcript_object(cid: str, clid: str) -> str:
    """S3 key of a clip's word-timed transcript (JSON; deleted with the clip's files)."""
    return clip_object_prefix(cid, clid) + "transcript.json"
