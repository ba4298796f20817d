"""Chat import rules for the pages: the route asks, this decides, the route queues what it
returns (`streams.jobs.enqueue_import`)."""

from __future__ import annotations

from dataclasses import dataclass

from truss.data import keys, streams
from truss.data.streams import Stream
from truss.data.table import Table
from truss.storage import Storage

MAX_IMPORT_BYTES = 2 * 1024**3
NOT_ARRIVED = "The chat file didn't arrive. Start the import again."


@dataclass(frozen=True)
class ImportToQueue:
    """A chat file in S3 (`key`) to import into stream `sid` of creator `cid`."""

    cid: str
    sid: str
    key: str


@dataclass(frozen=True)
class ImportConfirmed:
    """What a confirmed upload of a chat file leads to: an import to queue, or an error the
    creator sees (the stream failed with it), or neither (the import had moved on)."""

    to_queue: ImportToQueue | None = None
    error: str = ""


def import_key(cid: str, sid: str) -> str:
    return keys.stream_import_object(cid, sid)


def confirm_import(table: Table, storage: Storage, stream: Stream) -> ImportConfirmed:
    """The browser says the chat file is in S3: check it there. A missing or too large file
    fails the import; a right one is to be imported (once: a stream no longer importing
    needs nothing)."""
    if stream.status != streams.IMPORTING:
        return ImportConfirmed()
    cid, sid = stream.creator_id, stream.id
    key = import_key(cid, sid)
    info = storage.head(key)
    if info is None or not 0 < info.size <= MAX_IMPORT_BYTES:
        streams.fail_import(table, cid, sid, NOT_ARRIVED)
        return ImportConfirmed(error=NOT_ARRIVED)
    return ImportConfirmed(ImportToQueue(cid, sid, key))
