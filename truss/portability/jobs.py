"""The export and import jobs (queue `default`): thin entry points over export.py and
importer.py. Job ids are `export-<eid>` and `import-<iid>`: enqueueing one twice queues it
once (truss.queue.enqueue_once)."""

from __future__ import annotations

import logging
from contextlib import suppress
from types import TracebackType
from typing import Any

from redis import Redis
from rq import Callback, Retry
from rq.job import Job

from truss.cost_controls import quotas
from truss.data import exports
from truss.data.table import Conflict, NotFound
from truss.extensions import get_storage, get_table
from truss.portability.export import run_export
from truss.portability.importer import fail_import, run_import
from truss.queue import enqueue_once, get_queue

log = logging.getLogger(__name__)
RETRY = Retry(max=3, interval=[5, 30, 120])
TIMEOUT_S = 6 * 3600  # ~1 GB a minute here: generous for a big creator's archive
EXPORT_CRASHED = "The export stopped unexpectedly several times. Start a new export."
IMPORT_CRASHED = (
    "The import stopped unexpectedly several times. Upload the archive again: what was "
    "already imported is kept and not duplicated."
)


def export_job_id(eid: str) -> str:
    return f"export-{eid}"


def import_job_id(iid: str) -> str:
    return f"import-{iid}"


def export_archive(cid: str, eid: str) -> str:
    return run_export(get_table(), get_storage(), cid, eid).status


def import_archive(cid: str, iid: str) -> str:
    limit = quotas().storage_bytes
    return run_import(get_table(), get_storage(), cid, iid, storage_limit=limit).status


def enqueue_export(cid: str, eid: str) -> object:
    return enqueue_once(
        get_queue("default"), export_archive, cid, eid, job_id=export_job_id(eid),
        job_timeout=TIMEOUT_S, retry=RETRY, on_failure=Callback(export_crashed),
    )  # fmt: skip


def enqueue_import(cid: str, iid: str) -> object:
    return enqueue_once(
        get_queue("default"), import_archive, cid, iid, job_id=import_job_id(iid),
        job_timeout=TIMEOUT_S, retry=RETRY, on_failure=Callback(import_crashed),
    )  # fmt: skip


def export_crashed(
    job: Job, connection: Redis, exc_type: type, value: BaseException, tb: TracebackType | Any
) -> None:
    """After the last retry the export says it failed instead of running forever."""
    if job.retries_left:
        return
    cid, eid = job.args[0], job.args[1]
    log.error("export %s crashed: %s", eid, value, exc_info=value)
    with suppress(Conflict, NotFound):
        exports.update_export(get_table(), cid, eid, status=exports.FAILED, error=EXPORT_CRASHED)


def import_crashed(
    job: Job, connection: Redis, exc_type: type, value: BaseException, tb: TracebackType | Any
) -> None:
    if job.retries_left:
        return
    log.error("import %s crashed: %s", job.args[1], value, exc_info=value)
    fail_import(get_table(), get_storage(), job.args[0], job.args[1], IMPORT_CRASHED)
