"""The chat import job (queue `analysis`): parse the whole file, find spikes, then write.

Two passes over the uploaded file, both streaming: the first checks every line and bins the
messages by second (memory grows with the stream's length in seconds, not its messages); the
second keeps only the messages inside a spike's window to describe it. Nothing is written to the
table before the first pass has read the whole file without an error.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

from rq import Callback, Retry
from rq.job import Job

from truss.data import lexicon, streams
from truss.data.table import Conflict, NotFound, Table
from truss.extensions import get_storage, get_table
from truss.queue import enqueue_once, get_queue
from truss.storage import Storage
from truss.streams import chat_import
from truss.streams.model import ChatMessage, SecondBin, Spike
from truss.streams.service import ImportToQueue
from truss.streams.spikes import DEFAULT_LEXICON, Binner, describe, find_spikes

log = logging.getLogger(__name__)
MAX_IMPORT_MESSAGES = 5_000_000
IMPORT_TIMEOUT_S = 1800
CRASHED = (
    "The import stopped unexpectedly several times. Add the stream again with the same file; "
    "if it stops again, export the chat again and import the new file."
)
MAX_DESCRIBED_MESSAGES = 200_000  # messages kept for the second pass (spike windows only)


class SecondBinner:
    """Bins messages read in (roughly) time order; a second seen again is added to."""

    def __init__(self, terms: Mapping[str, float] = DEFAULT_LEXICON) -> None:
        self._binner = Binner(terms)
        self._bins: dict[int, SecondBin] = {}
        self._second: int | None = None
        self._pending: list[ChatMessage] = []

    def add(self, message: ChatMessage) -> None:
        second = int(message.offset_s)
        if second != self._second:
            self._flush()
            self._second = second
        self._pending.append(message)

    def _flush(self) -> None:
        if self._second is None or not self._pending:
            return
        new = self._binner.bin(self._second, self._pending)
        old = self._bins.get(self._second)
        if old is not None:
            new = SecondBin(
                new.second,
                old.messages + new.messages,
                old.chatters + new.chatters,
                old.weight + new.weight,
            )
        self._bins[self._second] = new
        self._pending = []

    def bins(self) -> list[SecondBin]:
        """The seconds with chat, in order, from second 0 (the spike tracker counts the seconds
        between as silent): a file's size bounds them, not its last offset."""
        self._flush()
        if not self._bins:
            return []
        first = [] if 0 in self._bins else [SecondBin(0, 0, 0, 0.0)]
        return first + [self._bins[s] for s in sorted(self._bins)]


def detect(
    path: str, limit: int = MAX_IMPORT_MESSAGES, terms: Mapping[str, float] = DEFAULT_LEXICON
) -> tuple[chat_import.ImportSummary, list[Spike]]:
    """Parse the whole file (ChatImportError on any problem), then describe its spikes; chat
    weighs by the creator's lexicon `terms`."""
    binner = SecondBinner(terms)
    with open(path, "rb") as fileobj:
        summary = chat_import.parse_all(fileobj, limit, on_message=binner.add)
    found = find_spikes(binner.bins())
    if not found:
        return summary, []
    windows = [(spike.start_s, spike.end_s + 1) for spike in found]
    inside: list[ChatMessage] = []
    with open(path, "rb") as fileobj:
        for message in chat_import.read_chat(fileobj):
            if any(a <= message.offset_s < b for a, b in windows):
                inside.append(message)
                if len(inside) >= MAX_DESCRIBED_MESSAGES:
                    break
    return summary, [describe(spike, inside, terms) for spike in found]


@contextmanager
def downloaded(storage: Storage, key: str) -> Iterator[str]:
    handle, path = tempfile.mkstemp(prefix="truss-chat-")
    os.close(handle)
    try:
        storage.download(key, path)
        yield path
    finally:
        os.unlink(path)


def import_chat(table: Table, storage: Storage, cid: str, sid: str, key: str) -> None:
    """Import one uploaded chat file into its stream (`importing` → `imported` or `failed`)."""
    try:
        stream = streams.get(table, cid, sid)
    except NotFound:
        return  # deleted before the job ran
    if stream.status != streams.IMPORTING:
        return  # a retried job after the import finished
    terms = lexicon.get(table, cid)
    with downloaded(storage, key) as path:
        try:
            summary, found = detect(path, terms=terms)
        except chat_import.ChatImportError as exc:
            _fail(table, cid, sid, f"This chat file can't be imported: {exc}. Nothing was saved.")
            return
    try:
        streams.finish_import(
            table, cid, sid, found, summary.messages, summary.chatters, summary.format
        )
    except Conflict:
        log.info("stream %s changed during its import; result dropped", sid)


def _fail(table: Table, cid: str, sid: str, message: str) -> None:
    with suppress(Conflict):  # deleted or finished meanwhile
        streams.fail_import(table, cid, sid, message)


def run_import(cid: str, sid: str, key: str) -> None:
    """RQ entry point (workers run inside the app context)."""
    import_chat(get_table(), get_storage(), cid, sid, key)


def import_job_id(sid: str) -> str:
    return f"import-chat-{sid}"


def enqueue_import(to_queue: ImportToQueue | None) -> None:
    """Queue the import a confirmation decided on (nothing for None) on the `analysis` queue,
    once per stream, retried if a worker dies."""
    if to_queue is None:
        return
    enqueue_once(
        get_queue("analysis"),
        run_import,
        to_queue.cid,
        to_queue.sid,
        to_queue.key,
        job_id=import_job_id(to_queue.sid),
        job_timeout=IMPORT_TIMEOUT_S,
        retry=Retry(max=2, interval=[5, 30]),
        on_failure=Callback(import_crashed),
    )


def import_crashed(
    job: Job, connection: Any, exc_type: type, value: BaseException, tb: Any
) -> None:
    """After the last try, the stream says what happened instead of staying `importing`."""
    if job.retries_left:
        return
    cid, sid = job.args[0], job.args[1]
    log.error("chat import of %s crashed: %s", sid, value, exc_info=value)
    _fail(get_table(), cid, sid, CRASHED)
