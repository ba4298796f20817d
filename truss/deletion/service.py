"""Deleting an account: first stop everything that could write for the creator again, then
remove every item, object, uploaded Gemini file and platform grant, and finally the profile.

`begin` (the page or the CLI) marks the creator deleting, which ends every session at once
and refuses sign-in, and returns the ticket the job (`run`) works through. Each step is
idempotent and recorded on the `DELETION#<ticket>` item when done, so a job retried after a
crash or a killed worker skips what is done and finishes the rest."""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from truss.analytics import platform_stats
from truss.analytics.counters import forget_creator
from truss.connections.service import disconnect
from truss.data import clips, deletions, keys, platform_tokens, publications
from truss.data.creators import Creator
from truss.data.deletions import AlreadyDeleting, Deletion
from truss.data.publications import NotChanged
from truss.data.table import Conflict, NotFound, Table
from truss.publishing.tokens import TokenService
from truss.queue import job_active
from truss.services import clips as clip_rules
from truss.services.uploads import delete_asset, keep_remote_file
from truss.storage import Storage
from truss.streams import live_store
from truss.streams.jobs import import_job_id
from truss.streams.live_store import LiveRef

log = logging.getLogger(__name__)

# (step, what it does, as the progress page lists it)
STEPS: tuple[tuple[str, str], ...] = (
    ("stop", "Stop live chat capture, scheduled posts, counters, exports and imports"),
    ("disconnect", "Disconnect your platforms (Truss's access revoked at each)"),
    ("videos", "Delete your videos, clips and share links (running work stopped)"),
    ("files", "Delete every stored file"),
    ("records", "Delete every record of your library, streams, posts and usage"),
    ("sign-in", "Remove your email, sign-in identities and sign-in links"),
    ("account", "Remove the account itself"),
)
STEP_NAMES = tuple(name for name, _ in STEPS)


class WrongEmail(ValueError):
    """The email typed to confirm isn't the account's."""


class StillListening(RuntimeError):
    """A chat listener still holds a stream's lease, or a chat import still runs: the job is
    retried later."""


class LateWrites(RuntimeError):
    """Something wrote for the creator after its step ran and the second sweep: retried."""


@dataclass(frozen=True)
class Collaborators:
    """What the steps need (the job builds them from the app; tests pass their own)."""

    table: Table
    storage: Storage
    redis: Any
    config: Mapping[str, Any]
    token_service: TokenService | None = None
    delete_remote_file: Callable[[str], None] = keep_remote_file
    max_clips: int = 8
    listener_wait_s: float = 25.0  # longer than a listener's lease
    sleep: Callable[[float], None] = field(default=time.sleep)


def check_email(creator: Creator, typed: str) -> None:
    if keys.normalise_email(typed or "") != keys.normalise_email(creator.email):
        raise WrongEmail(
            "That isn't the email of this account, so nothing was deleted. Type the email "
            "you sign in with (shown on your dashboard) to confirm."
        )


def begin(table: Table, creator: Creator) -> str:
    """Mark the creator deleting (every session ends, sign-in is refused) and return the
    ticket of the job to run; a deletion that started earlier keeps its ticket."""
    try:
        return deletions.start(table, creator.id, creator.email, secrets.token_urlsafe(24)).ticket
    except AlreadyDeleting as already:
        return already.ticket


def run(deps: Collaborators, ticket: str) -> Deletion:
    """Every step not done yet, in order; then a last sweep; then the item forgets the creator."""
    progress = deletions.get(deps.table, ticket)
    if progress.done:
        return progress
    cid, email = progress.subject_id, progress.subject_email
    for name in STEP_NAMES:
        if name in progress.steps_done:
            continue
        try:
            items, objects = _STEP_RUNNERS[name](deps, cid, email)
        except Exception as exc:
            with contextlib.suppress(Exception):  # the step's own error is the one to raise
                deletions.note_problem(deps.table, ticket, f"{type(exc).__name__}: {exc}")
            raise
        progress = deletions.step_done(deps.table, ticket, name, items, objects)
        log.info("account deletion %s: %s done", ticket, name)
    _sweep_again(deps, cid, email)
    return deletions.finish(deps.table, ticket)


def _stop_writers(deps: Collaborators, cid: str, email: str) -> tuple[int, int]:
    """Live streams leave the live set (their listeners stop and let the lease go), posts
    that haven't started are cancelled, buffered counters are dropped, export and import
    jobs lose their progress items (their next write fails: they stop)."""
    sids = deletions.stream_ids(deps.table, cid)
    for sid in sids:
        live_store.remove_live(deps.redis, cid, sid)
    for pub in publications.list_for_creator(deps.table, cid):
        if pub.status == publications.SCHEDULED:
            # one that started meanwhile goes on; its writes fail once its item is gone
            with contextlib.suppress(NotChanged, Conflict, NotFound):
                publications.cancel(deps.table, cid, pub.clip_id, pub.platform, time.time())
    forget_creator(deps.redis, cid)  # analytics counts not flushed yet
    platform_stats.forget(deps.redis, cid)  # no more statistics rounds for the creator
    deletions.remove(deps.table, deletions.transfer_keys(deps.table, cid))  # exports, imports
    _wait_for_chat_writers(deps, cid, sids)
    return 0, 0


def _wait_for_chat_writers(deps: Collaborators, cid: str, sids: list[str]) -> None:
    """A listener that stops writes what it had pending, and a chat import writes its spikes
    when it ends: wait until no listener holds a lease and no import job runs."""
    refs = [LiveRef(cid, sid, "", "", 0.0) for sid in sids]
    imports = [import_job_id(sid) for sid in sids]
    deadline = time.monotonic() + deps.listener_wait_s
    while True:
        if any(live_store.lease_owner(deps.redis, ref) for ref in refs):
            busy = "a chat listener still holds a stream of this account"
        elif any(job_active(deps.redis, job) for job in imports):
            busy = "a chat import of this account is still running"
        else:
            return
        if time.monotonic() > deadline:
            raise StillListening(busy)
        deps.sleep(0.5)


def _disconnect_platforms(deps: Collaborators, cid: str, email: str) -> tuple[int, int]:
    records = platform_tokens.list_for_creator(deps.table, cid)
    for record in records:
        gone = disconnect(deps.token_service, deps.table, deps.config, record)
        log.info("account deletion: %s disconnected (revoked: %s)", gone.platform, gone.revoked)
    return len(records), 0


def _delete_videos(deps: Collaborators, cid: str, email: str) -> tuple[int, int]:
    """Each video through the asset delete (its fence stops running analyses and renders,
    its clips' share links end, its Gemini upload is deleted); then clips left without one."""
    table, storage = deps.table, deps.storage
    aids = deletions.asset_ids(table, cid)
    for aid in aids:
        try:
            delete_asset(table, storage, cid, aid, deps.delete_remote_file, deps.max_clips)
        except NotFound:
            continue  # deleted meanwhile
    for clid in deletions.clip_ids(table, cid):
        try:
            clip_rules.delete_clip(table, storage, clips.get(table, cid, clid))
        except NotFound:
            continue
    return 0, 0


def _delete_files(deps: Collaborators, cid: str, email: str) -> tuple[int, int]:
    root = keys.creator_object_root(cid)
    deps.storage.abort_uploads_under(root)
    return 0, deps.storage.delete_prefix(root)


def _delete_records(deps: Collaborators, cid: str, email: str) -> tuple[int, int]:
    return deletions.remove(deps.table, deletions.partition_keys(deps.table, cid)), 0


def _delete_sign_in(deps: Collaborators, cid: str, email: str) -> tuple[int, int]:
    """Only what leads to this creator: a retry after the person signed up again with the same
    email leaves the new account (its profile, email and sign-in links) alone."""
    return deletions.remove_pointers(deps.table, cid, email), 0


def _delete_account(deps: Collaborators, cid: str, email: str) -> tuple[int, int]:
    return deletions.remove_profile(deps.table, cid), 0


def _sweep_again(deps: Collaborators, cid: str, email: str) -> None:
    """A write that raced its step (a render finishing its upload, a listener's last flush)
    is removed now; one still appearing after that makes the job retry later. Analytics
    counted meanwhile (a share link viewed before it went) are dropped again."""
    forget_creator(deps.redis, cid)
    for _ in range(2):
        left = deletions.partition_keys(deps.table, cid, keep_profile=False)
        objects = deps.storage.list_prefix(keys.creator_object_root(cid), limit=1)
        if not left and not objects:
            return
        log.warning("account deletion of %s: %d late items, objects: %s", cid, len(left), objects)
        deletions.remove(deps.table, left)
        _delete_files(deps, cid, email)
    raise LateWrites(f"items or files of creator {cid} keep appearing")


def sweep_late(deps: Collaborators, cid: str) -> int:
    """After the deletion: items and files of the creator that arrived since (an upload
    through a presigned URL handed out before), deleted; how many there were."""
    items = deletions.remove(deps.table, deletions.partition_keys(deps.table, cid, False))
    _, objects = _delete_files(deps, cid, "")
    return items + objects


_STEP_RUNNERS: dict[str, Callable[[Collaborators, str, str], tuple[int, int]]] = {
    "stop": _stop_writers,
    "disconnect": _disconnect_platforms,
    "videos": _delete_videos,
    "files": _delete_files,
    "records": _delete_records,
    "sign-in": _delete_sign_in,
    "account": _delete_account,
}
