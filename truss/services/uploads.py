"""Upload rules: the browser sends bytes straight to S3; the server only signs and verifies.

Collaborators (table, storage) are arguments, so tests pass fakes. A confirmed upload's
analysis is decided here (a `FollowUp`) and queued by the route (`jobs.queue_analysis`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from truss.data import assets, clips, keys
from truss.data.assets import Asset
from truss.data.creators import new_id
from truss.data.table import Conflict, NotFound, Table
from truss.services import quotas
from truss.services.analysis import FollowUp, after_upload
from truss.services.clips import delete_clips_of_asset
from truss.services.quotas import NO_QUOTAS, Quotas
from truss.services.sniff import SNIFF_BYTES, looks_like_video
from truss.storage import Storage, UploadedPart, UploadGone
from truss.units import human_size

log = logging.getLogger(__name__)
MIB = 1024**2
S3_MIN_PART_BYTES = 5 * MIB
S3_MAX_PARTS = 10_000
MAX_PARTS_PER_REQUEST = 50
POST_MODE, MULTIPART_MODE = "post", "multipart"

VIDEO_TYPES: Mapping[str, str] = {
    "video/mp4": "MP4",
    "video/quicktime": "QuickTime (.mov)",
    "video/webm": "WebM",
    "video/x-matroska": "Matroska (.mkv)",
    "video/x-msvideo": "AVI",
    "video/mpeg": "MPEG",
    "video/mp2t": "MPEG transport stream (.ts)",
    "video/x-m4v": "M4V",
    "video/3gpp": "3GP",
    "video/x-flv": "FLV",
    "video/ogg": "Ogg video",
}


class UploadError(ValueError):
    """The request can't be done; the message tells the creator what to do instead."""


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int
    multipart_threshold: int
    part_bytes: int
    url_expires_s: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> UploadLimits:
        return cls(
            max_bytes=int(config["MAX_UPLOAD_BYTES"]),
            multipart_threshold=int(config.get("MULTIPART_THRESHOLD_BYTES", 100 * MIB)),
            part_bytes=int(config.get("MULTIPART_PART_BYTES", 16 * MIB)),
            url_expires_s=min(int(config.get("UPLOAD_URL_EXPIRES_S", 900)), 900),
        )

    def part_bytes_for(self, size: int) -> int:
        """The configured part size, grown so that no upload needs more than 10,000 parts."""
        return max(self.part_bytes, S3_MIN_PART_BYTES, -(-size // S3_MAX_PARTS))


def check_file(size: int, content_type: str, limits: UploadLimits) -> None:
    """Refuse what the server would refuse later, before any byte is sent."""
    if content_type not in VIDEO_TYPES:
        kinds = ", ".join(sorted(set(VIDEO_TYPES.values())))
        raise UploadError(f"That file isn't a video Truss can use. Choose one of: {kinds}.")
    if size < 1:
        raise UploadError("That file is empty. Choose the video file itself.")
    if size > limits.max_bytes:
        raise UploadError(
            f"That file is {human_size(size)}; the limit is {human_size(limits.max_bytes)}. "
            "Trim or compress it, then upload it again."
        )


def start_upload(
    table: Table,
    storage: Storage,
    cid: str,
    file_name: str,
    size: int,
    content_type: str,
    limits: UploadLimits,
    quota: Quotas = NO_QUOTAS,
    duration_s: float | None = None,
) -> dict[str, Any]:
    """Create the asset (`uploading`) and return how the browser sends the file to S3."""
    check_file(size, content_type, limits)
    quotas.check_upload(table, cid, size, duration_s, quota)  # QuotaExceeded says which
    aid = new_id()
    title = file_name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1] or "Untitled video"
    multipart = size > limits.multipart_threshold
    key = keys.asset_source_object(cid, aid)
    asset = create_uploading(
        table, cid, aid, title, size, content_type, limits.url_expires_s,
        mode=MULTIPART_MODE if multipart else POST_MODE,
        upload_id=storage.create_multipart_upload(key, content_type) if multipart else "",
        part_bytes=limits.part_bytes_for(size) if multipart else 0,
    )  # fmt: skip
    if multipart:
        return multipart_plan(asset)
    post = storage.presigned_post(key, size, content_type, limits.url_expires_s)
    return {"asset_id": aid, "mode": POST_MODE, "post": post}


def create_uploading(
    table: Table, cid: str, aid: str, title: str, size: int, content_type: str,
    expires_in: int, mode: str = POST_MODE, upload_id: str = "", part_bytes: int = 0,
) -> Asset:  # fmt: skip
    """The new `uploading` asset: the file's name as its title, what the browser declared, and
    how (`mode`) and until when (`expires_in` seconds from now) the file may be sent."""
    return assets.create(
        table,
        cid,
        aid,
        title=title,
        file_name=title,
        expected_size=size,
        declared_type=content_type,
        upload_mode=mode,
        upload_expires_at=int(time.time()) + expires_in,
        upload_id=upload_id,
        part_bytes=part_bytes,
    )


def multipart_plan(asset: Asset) -> dict[str, Any]:
    return {
        "asset_id": asset.id,
        "mode": MULTIPART_MODE,
        "upload_id": asset.upload_id,
        "part_bytes": asset.part_bytes,
        "part_count": asset.part_count,
    }


def open_multipart(table: Table, cid: str, aid: str, upload_id: str) -> Asset:
    """This creator's asset whose in-progress multipart upload has exactly this id.

    Anything else (another creator's asset or upload id, a finished upload) is NotFound, so
    a caller can't tell someone else's upload from a missing one.
    """
    asset = assets.get(table, cid, aid)
    if asset.upload_mode != MULTIPART_MODE or not upload_id or asset.upload_id != upload_id:
        raise NotFound(f"upload {upload_id!r}")
    if asset.status != assets.UPLOADING:
        raise UploadError("This upload has already finished. Open the video in your library.")
    return asset


def part_urls(
    table: Table,
    storage: Storage,
    cid: str,
    aid: str,
    upload_id: str,
    part_numbers: Sequence[int],
    limits: UploadLimits,
) -> dict[int, str]:
    """Presigned PUT URLs for some parts, only for this creator's own open upload."""
    asset = open_multipart(table, cid, aid, upload_id)
    wanted = sorted(set(part_numbers))
    if not wanted or len(wanted) > MAX_PARTS_PER_REQUEST:
        raise UploadError(f"Ask for 1 to {MAX_PARTS_PER_REQUEST} parts at a time.")
    if wanted[0] < 1 or wanted[-1] > asset.part_count:
        raise UploadError(f"This upload has parts 1 to {asset.part_count}.")
    assets.touch_upload(table, cid, aid, int(time.time()) + limits.url_expires_s)
    return {
        n: storage.presign_upload_part(
            asset.source_key, upload_id, n, part_size(asset, n), limits.url_expires_s
        )
        for n in wanted
    }


def part_size(asset: Asset, number: int) -> int:
    """Bytes in part `number`: full parts, then whatever is left for the last one."""
    return min(asset.part_bytes, asset.expected_size - (number - 1) * asset.part_bytes)


def uploaded_parts(
    table: Table, storage: Storage, cid: str, aid: str, upload_id: str
) -> dict[str, Any]:
    """What S3 already holds of this upload, so a reloaded page sends only the rest."""
    asset = open_multipart(table, cid, aid, upload_id)
    try:
        parts = storage.list_parts(asset.source_key, upload_id)
    except UploadGone as exc:
        raise NotFound("the upload expired; start it again") from exc
    return {
        **multipart_plan(asset),
        "parts": [{"number": part.number, "size": part.size} for part in parts],
    }


def missing_parts(asset: Asset, parts: Sequence[UploadedPart]) -> list[int]:
    have = {part.number for part in parts}
    return [n for n in range(1, asset.part_count + 1) if n not in have]


def complete_multipart(
    table: Table,
    storage: Storage,
    cid: str,
    aid: str,
    upload_id: str,
    limits: UploadLimits,
    quota: Quotas = NO_QUOTAS,
) -> FollowUp:
    """Join the parts S3 holds (the server's list, not the browser's), then confirm."""
    asset = open_multipart(table, cid, aid, upload_id)
    try:
        parts = storage.list_parts(asset.source_key, upload_id)
    except UploadGone as exc:  # finished by an earlier try whose answer was lost, or expired
        if storage.head(asset.source_key) is None:
            raise NotFound("the upload expired; start it again") from exc
        return confirm(table, storage, cid, aid, limits, quota)
    missing = missing_parts(asset, parts)
    if missing:
        raise UploadError(
            f"{len(missing)} part(s) haven't arrived yet (first: part {missing[0]}). "
            "Keep the page open; they will be sent again."
        )
    storage.complete_multipart_upload(asset.source_key, upload_id, parts)
    return confirm(table, storage, cid, aid, limits, quota)


def problem_with(asset: Asset, size: int, content_type: str, limits: UploadLimits) -> str:
    """Why a stored object can't be this asset's video ('' when it can)."""
    if size < 1 or size > limits.max_bytes:
        return (
            f"The file in storage is {human_size(size)}, outside the allowed 1 byte to "
            f"{human_size(limits.max_bytes)}. Upload a smaller video."
        )
    if size < asset.expected_size:
        return (
            f"Only {human_size(size)} of {human_size(asset.expected_size)} arrived. "
            "Upload the video again."
        )
    if size > asset.expected_size:
        return (
            f"{human_size(size)} arrived, but the file you chose is "
            f"{human_size(asset.expected_size)}. Upload the video again."
        )
    if content_type not in VIDEO_TYPES or content_type != asset.declared_type:
        return (
            f"The file was stored as {content_type or 'an unknown type'}, not as a video. "
            "Upload a video file (MP4, MOV, WebM, MKV …)."
        )
    return ""


def confirm(
    table: Table,
    storage: Storage,
    cid: str,
    aid: str,
    limits: UploadLimits,
    quota: Quotas = NO_QUOTAS,
) -> FollowUp:
    """HEAD the object; only a right one moves the asset to `uploaded`, and its analysis is
    to be queued (behind the analyses-at-once limit: `analysis.after_upload`).

    A missing or wrong object marks the asset `failed` with the reason (and a wrong object
    is deleted). Confirming an asset that already moved on just returns it.
    """
    asset = assets.get(table, cid, aid)
    if asset.status == assets.UPLOADED:
        return after_upload(table, asset, quota)  # it never ran (a crash right after confirming)
    if asset.status != assets.UPLOADING:
        return FollowUp(asset)
    info = storage.head(asset.source_key)
    if info is None:
        reason = "The file never arrived in storage. Upload the video again."
        _abort_upload(storage, asset)  # parts already sent would stay (and be billed)
        return FollowUp(_fail_upload(table, asset, reason))
    reason = problem_with(asset, info.size, info.content_type, limits)
    if not reason and not looks_like_video(storage.read_head(asset.source_key, SNIFF_BYTES)):
        reason = (
            "That file isn't a video: its contents aren't MP4, MOV, WebM, MKV, AVI or MPEG, "
            "whatever its name says. Check you chose the right file and upload it again."
        )
    if not reason:
        reason = quotas.admit_upload(table, asset, info.size, quota)  # counts its bytes
    if reason:
        storage.delete(asset.source_key)
        _abort_upload(storage, asset)
        return FollowUp(_fail_upload(table, asset, reason))
    try:
        uploaded = assets.transition(
            table,
            cid,
            aid,
            assets.UPLOADING,
            assets.UPLOADED,
            size=info.size,
            content_type=info.content_type,
            progress=100,
        )
    except Conflict:  # a concurrent confirmation got there first
        return FollowUp(assets.get(table, cid, aid))
    return after_upload(table, uploaded, quota)


def _abort_upload(storage: Storage, asset: Asset) -> None:
    """An unfinished multipart upload's parts are dropped with it (gone already is fine)."""
    if asset.upload_id:
        storage.abort_multipart_upload(asset.source_key, asset.upload_id)


def _fail_upload(table: Table, asset: Asset, reason: str) -> Asset:
    try:
        return assets.fail(table, asset.creator_id, asset.id, reason, assets.UPLOADING)
    except Conflict:
        return assets.get(table, asset.creator_id, asset.id)


def cancel(table: Table, storage: Storage, cid: str, aid: str) -> None:
    """The creator stopped an upload: nothing of it is kept."""
    asset = assets.get(table, cid, aid)
    if asset.status != assets.UPLOADING:
        raise UploadError("This upload already finished. Delete the video from its page instead.")
    delete_asset(table, storage, cid, aid)


def keep_remote_file(name: str) -> None:
    """Default for deleting a video's Gemini upload: nothing configured to delete it with."""
    log.warning("no Gemini client to delete %s with; it expires within 48 hours", name)


def delete_asset(
    table: Table,
    storage: Storage,
    cid: str,
    aid: str,
    delete_remote_file: Callable[[str], None] = keep_remote_file,
    max_clips: int = 8,
) -> None:
    """Delete a video and everything of it, even while jobs run on it.

    First the asset is fenced (moved out of every run and marked deleting), so every later
    write of a running analysis or render fails and removes the files it uploaded; then the
    clips (each fenced the same way: those the clip index lists, and the last run's
    `max_clips` by key, since the index lags), the S3 objects, the Gemini upload and the
    items go. The asset item goes last, so a retry after a crash finishes the job."""
    last_run = assets.get(table, cid, aid).run
    asset = assets.fence(table, cid, aid)
    if asset.upload_id:
        storage.abort_multipart_upload(asset.source_key, asset.upload_id)  # gone is fine
    quotas.release_asset(table, cid, aid)  # its bytes no longer count
    runs_clips = [clips.clip_id_for(aid, last_run, rank) for rank in range(max_clips)]
    delete_clips_of_asset(table, storage, cid, aid, also=runs_clips)
    storage.delete_prefix(keys.asset_object_prefix(cid, aid))
    if asset.gemini_file:
        try:
            delete_remote_file(asset.gemini_file)
        except Exception:  # it expires within 48 h anyway; never block the delete on it
            log.exception("could not delete Gemini file %s of asset %s", asset.gemini_file, aid)
    assets.delete(table, cid, aid)
