"""The account deletion job (queue `default`): one job per deletion, `delete-account-<ticket>`,
retried by RQ (a step that raised, a killed worker's abandoned job) and resumed from the steps
its progress item records as done."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from flask import current_app
from rq import Retry
from rq.job import Job

from truss.analysis.factory import gemini_file_deleter
from truss.data import deletions
from truss.data.deletions import Deletion
from truss.data.table import NotFound
from truss.deletion import service
from truss.extensions import get_redis, get_storage, get_table, get_token_service
from truss.publishing.tokens import TokenService
from truss.publishing.vault import VaultNotConfigured
from truss.queue import enqueue_once, get_queue, job_active
from truss.services.uploads import keep_remote_file

log = logging.getLogger(__name__)
OPEN = "truss:deletion:open"  # tickets of the deletions queued and not finished
REQUEUE_EVERY_S = 300  # a lost (or given-up) deletion job is queued again at most this often
RETRY = Retry(max=6, interval=[5, 15, 30, 60, 120, 300])
JOB_TIMEOUT_S = 3600
LATE_UPLOAD_MARGIN_S = 60


def job_id(ticket: str) -> str:
    return f"delete-account-{ticket}"


def enqueue_deletion(ticket: str) -> Job | None:
    """Queue the deletion (once: a job of this ticket still active is left to run); it stays
    in the open set until it finishes, for the workers' reconcile."""
    get_redis().sadd(OPEN, ticket)
    return enqueue_once(
        get_queue("default"), delete_account, ticket,
        job_id=job_id(ticket), job_timeout=JOB_TIMEOUT_S, retry=RETRY,
    )  # fmt: skip


def collaborators() -> service.Collaborators:
    """The steps' collaborators from the app (inside its context: a job, a request, the CLI)."""
    config = current_app.config
    try:
        tokens: TokenService | None = get_token_service()
    except VaultNotConfigured:  # no vault: nothing sealed could be opened to revoke
        tokens = None
    return service.Collaborators(
        table=get_table(),
        storage=get_storage(),
        redis=get_redis(),
        config=config,
        token_service=tokens,
        delete_remote_file=gemini_file_deleter(config) or keep_remote_file,
        max_clips=int(config["MAX_CLIPS"]),
        listener_wait_s=2.5 * float(config["STREAM_LEASE_S"]),
    )


def delete_account(ticket: str) -> None:
    """The job: every step not done yet (RQ retries it when one raises)."""
    run_deletion(ticket)


def run_deletion(ticket: str) -> Deletion:
    """Run the deletion here (the job, or the operator's command); once it is done, the
    creator's prefix is swept again after every upload URL handed out before has expired."""
    cid = deletions.get(get_table(), ticket).subject_id  # empty once done
    done = service.run(collaborators(), ticket)
    get_redis().srem(OPEN, ticket)
    if cid:
        schedule_late_sweep(cid)
    return done


def late_sweep_job_id(cid: str) -> str:
    return f"delete-account-late-{cid}"


def schedule_late_sweep(cid: str) -> Job | None:
    """A browser holding a presigned POST from before the deletion can still upload for up to
    UPLOAD_URL_EXPIRES_S: sweep the creator's prefix once more when they have all expired."""
    delay = int(current_app.config["UPLOAD_URL_EXPIRES_S"]) + LATE_UPLOAD_MARGIN_S
    return enqueue_once(
        get_queue("default"), sweep_late_uploads, cid,
        job_id=late_sweep_job_id(cid), at=datetime.now(UTC) + timedelta(seconds=delay),
        retry=RETRY,
    )  # fmt: skip


def sweep_late_uploads(cid: str) -> None:
    """The late sweep job: whatever arrived for the deleted creator since is deleted."""
    found = service.sweep_late(collaborators(), cid)
    if found:
        log.warning("deleted %d late items/files of a deleted account", found)


def requeue_if_lost(ticket: str) -> bool:
    """Queue an unfinished deletion again when RQ holds no job of it (Redis lost it, or its
    retries ran out while S3 was down), at most once every REQUEUE_EVERY_S."""
    redis = get_redis()
    try:
        progress = deletions.get(get_table(), ticket)
    except NotFound:
        progress = None
    if progress is None or progress.done:
        redis.srem(OPEN, ticket)
        return False
    if job_active(redis, job_id(ticket)):
        return False
    if not redis.set(f"truss:deletion:requeue:{ticket}", 1, nx=True, ex=REQUEUE_EVERY_S):
        return False
    enqueue_deletion(ticket)
    return True


def reconcile_deletions() -> list[str]:
    """The workers' maintenance: the open deletions queued again (see requeue_if_lost)."""
    tickets = [t.decode() if isinstance(t, bytes) else str(t) for t in get_redis().smembers(OPEN)]
    return [ticket for ticket in tickets if requeue_if_lost(ticket)]
