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
    """Write the words, then point the clip at them (Conflict if the clip is gone: the
    object is removed again)."""
    key = keys.clip_transcript_object(clip.creator_id, clip.id)
    storage.put_json(key, transcript.to_json())
    try:
        pointers.point(
            table, clip.creator_id, clip.id, key, transcript.source, transcript.corrected,
            transcript.text,
        )  # fmt: skip
    except Exception:
        storage.delete(key)
        raise


def load(table: Table, storage: Storage, clip: Clip) -> Transcript | None:
    """The clip's transcript, or None when it has none (or its object is missing)."""
    pointer = pointers.find(table, clip.creator_id, clip.id)
    if pointer is None:
        return None
    try:
        return Transcript.from_json(storage.get_json(pointer.object_key))
    except Exception:  # a missing or unreadable object: as if there were none
        log.warning("clip %s: transcript %s unreadable", clip.id, pointer.object_key)
        return None
