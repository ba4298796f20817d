"""The account deletion job (queue `default`): one job per deletion, `delete-account-<ticket>`,
retried by RQ (a step that raised, a killed worker's abandoned job) and resumed from the steps
its progress item records as done."""

from __future__ import annotations

from flask import current_app
from rq import Retry
from rq.job import Job

from truss.analysis.factory import gemini_file_deleter
from truss.deletion import service
from truss.extensions import get_redis, get_storage, get_table, get_token_service
from truss.publishing.tokens import TokenService
from truss.publishing.vault import VaultNotConfigured
from truss.queue import enqueue_once, get_queue
from truss.services.uploads import keep_remote_file

RETRY = Retry(max=6, interval=[5, 15, 30, 60, 120, 300])
JOB_TIMEOUT_S = 3600


def job_id(ticket: str) -> str:
    return f"delete-account-{ticket}"


def enqueue_deletion(ticket: str) -> Job | None:
    """Queue the deletion (once: a job of this ticket still active is left to run)."""
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
    service.run(collaborators(), ticket)
