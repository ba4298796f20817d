"""Read and write a clip's transcript: the words as JSON in S3, the pointer on the clip item
(truss.data.transcripts). A new transcript replaces the old object under the same key."""

from __future__ import annotations

import logging

from truss.captions.model import Transcript
from truss.data import keys
from truss.data import transcripts as pointers
from truss.data.clips import Clip
from truss.data.table import Table
from truss.storage import Storage

log = logging.getLogger(__name__)


def save(table: Table, storage: Storage, clip: Clip, transcript: Transcript) -> None:
    save_for(table, storage, clip.creator_id, clip.id, transcript)


def save_for(table: Table, storage: Storage, cid: str, clid: str, transcript: Transcript) -> None:
    """Write the words, then point the clip at them (Conflict if the clip is gone: the
    object is removed again)."""
    key = keys.clip_transcript_object(cid, clid)
    storage.put_json(key, transcript.to_json())
    try:
        pointers.point(
            table, cid, clid, key, transcript.source, transcript.corrected, transcript.text
        )
    except Exception:
        storage.delete(key)
        raise


def load(storage: Storage, clip: Clip) -> Transcript | None:
    """The clip's transcript, or None when it has none (its object is missing or unreadable).
    The object key follows from the clip's ids, so a render needs no table read for it."""
    key = keys.clip_transcript_object(clip.creator_id, clip.id)
    if storage.head(key) is None:
        return None
    try:
        return Transcript.from_json(storage.get_json(key))
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("clip %s: transcript %s unreadable: %s", clip.id, key, exc)
        return None
