"""Account deletion: the mark on the creator's profile, the `DELETION#<ticket>` progress item,
and the reads and batch deletes that find and remove every item of a creator.

The progress item lives outside the creator's partition (which the deletion empties) under a
random ticket. While the deletion runs it holds the creator's id and email (a retry after the
profile is gone still knows what to remove); when it finishes it is rewritten without them and
expires a week later, so nothing that names the creator is left."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from boto3.dynamodb.conditions import Attr, ConditionBase

from truss.data import keys
from truss.data.creators import utc_now_iso
from truss.data.items import attr, from_item
from truss.data.magic_links import MAGIC_LINK_TYPE
from truss.data.table import AlreadyExists, Conflict, Item, NotFound, Table

DELETING = "deleting"
DONE = "done"
KEEP_DONE_S = 7 * 86400  # how long "your account is deleted" stays readable
ITEM_TYPE = "account_deletion"


class AlreadyDeleting(Exception):
    """The creator's deletion started earlier: `ticket` is that deletion's."""

    def __init__(self, ticket: str) -> None:
        super().__init__(ticket)
        self.ticket = ticket


def _ticket_of(pk: str) -> str:
    return keys.DELETION.parse(pk)[0]


@dataclass(frozen=True, kw_only=True)
class Deletion:
    ticket: str = field(metadata=attr(name="PK", read=_ticket_of))
    status: str = DELETING
    steps_done: tuple[str, ...] = ()
    subject_id: str = ""  # the creator's id while running; removed when done
    subject_email: str = ""  # the creator's email while running; removed when done
    items_removed: int = 0
    objects_removed: int = 0
    problem: str = ""  # why the last attempt stopped (it is tried again), until a step passes
    started_at: str = ""
    finished_at: str = ""

    @property
    def done(self) -> bool:
        return self.status == DONE


def _from(item: Item) -> Deletion:
    return from_item(Deletion, item)


def start(table: Table, cid: str, email: str, ticket: str) -> Deletion:
    """Mark the creator deleting (and end every session: the session version moves on) and
    write the progress item, in one transaction. AlreadyDeleting when a deletion started
    before (its ticket); NotFound when there is no such creator."""
    item: Item = {
        **keys.account_deletion(ticket),
        "type": ITEM_TYPE,
        "status": DELETING,
        "steps_done": [],
        "subject_id": cid,
        "subject_email": keys.normalise_email(email),
        "items_removed": 0,
        "objects_removed": 0,
        "started_at": utc_now_iso(),
    }
    mark = {
        "Update": {
            "Key": keys.creator_profile(cid),
            "UpdateExpression": "SET deleting = :ticket ADD session_version :one",
            "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(deleting)",
            "ExpressionAttributeValues": {":ticket": ticket, ":one": 1},
        }
    }
    put = {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(PK)"}}
    try:
        table.transact([mark, put])
    except (AlreadyExists, Conflict):
        profile = table.find(keys.creator_profile(cid))
        if profile is None:
            raise NotFound(f"creator {cid}") from None
        if profile.get("deleting"):
            raise AlreadyDeleting(str(profile["deleting"])) from None
        raise
    return _from(item)


def get(table: Table, ticket: str) -> Deletion:
    return _from(table.get_typed(keys.account_deletion(ticket), ITEM_TYPE))


def step_done(table: Table, ticket: str, step: str, items: int = 0, objects: int = 0) -> Deletion:
    """Record a finished step and what it removed, in one UpdateItem (a step recorded
    already is left as it is), so a retried job skips it."""
    key = keys.account_deletion(ticket)
    current = table.get(key)
    done = list(current.get("steps_done") or [])
    if step in done:
        return _from(current)
    item = table.update(
        key,
        {"steps_done": [*done, step]},
        condition=Attr("status").eq(DELETING),
        add={"items_removed": items, "objects_removed": objects},
        remove=("problem",),
    )
    return _from(item)


def note_problem(table: Table, ticket: str, problem: str) -> None:
    """Remember why an attempt stopped (shown on the progress page; retried anyway)."""
    table.update(
        keys.account_deletion(ticket), {"problem": problem[:300]}, Attr("status").eq(DELETING)
    )


def finish(table: Table, ticket: str) -> Deletion:
    """Done: the progress item is rewritten without the creator's id and email, and expires."""
    current = table.get(keys.account_deletion(ticket))
    item: Item = {
        **keys.account_deletion(ticket),
        "type": ITEM_TYPE,
        "status": DONE,
        "steps_done": list(current.get("steps_done") or []),
        "items_removed": int(current.get("items_removed", 0)),
        "objects_removed": int(current.get("objects_removed", 0)),
        "started_at": current.get("started_at", ""),
        "finished_at": utc_now_iso(),
        "expires_at": int(time.time()) + KEEP_DONE_S,
    }
    table.put(item)
    return _from(item)


def partition_keys(table: Table, cid: str, keep_profile: bool = True) -> list[keys.Key]:
    """The key of every item under `CREATOR#<cid>` (the profile last, or left out)."""
    profile = keys.creator_profile(cid)
    found = [key for key in table.keys_of_partition(keys.creator_pk(cid)) if key != profile]
    if not keep_profile and table.find(profile) is not None:
        found.append(profile)
    return found


# partitions whose items point to one creator by `creator_id` (the sign-in step removes them)
_POINTER_PARTITIONS = (keys.EMAIL.prefix_for(), keys.IDENTITY.prefix_for(), keys.SHARE.prefix_for())


def _points_to(cid: str) -> ConditionBase:
    return Attr("creator_id").eq(cid)


def _link_for(email: str) -> ConditionBase:
    return Attr("type").eq(MAGIC_LINK_TYPE) & Attr("email").eq(email)


def pointer_keys(table: Table, cid: str, email: str) -> list[keys.Key]:
    """Items outside the creator's partition that lead to it: `EMAIL#`, `IDENTITY#` and `SHARE#`
    whose `creator_id` is this creator, and sign-in links (`MAGIC#`) for the email unless
    another account owns the email now (someone signed up again with it: the links are theirs).
    Never an item of another creator, whose profile carries the same email. Nothing indexes
    these by creator, so this is one paginated Scan of the whole table (a rare operator-grade
    read: see the README)."""
    email = keys.normalise_email(email)
    owner = table.find(keys.email_owner(email))
    links_are_ours = owner is None or owner.get("creator_id") == cid
    wanted = _points_to(cid) | _link_for(email) if links_are_ours else _points_to(cid)
    return [
        {"PK": item["PK"], "SK": item["SK"]}
        for item in table.scan(wanted, attributes=("PK", "SK", "type", "creator_id"))
        if _is_pointer(item, cid)
    ]


def _is_pointer(item: Item, cid: str) -> bool:
    pk = str(item["PK"])
    if pk.startswith(keys.MAGIC.prefix_for()):
        return item.get("type") == MAGIC_LINK_TYPE
    return pk.startswith(_POINTER_PARTITIONS) and item.get("creator_id") == cid


def remove_pointers(table: Table, cid: str, email: str) -> int:
    """Delete the creator's pointers (pointer_keys), each only while it still is one: a pointer
    that changed hands since the Scan (the email taken by a new account) stays."""
    email = keys.normalise_email(email)
    removed = 0
    for key in pointer_keys(table, cid, email):
        is_link = key["PK"].startswith(keys.MAGIC.prefix_for())
        with contextlib.suppress(Conflict):
            gone = table.delete(key, condition=_link_for(email) if is_link else _points_to(cid))
            removed += gone is not None
    return removed


def remove(table: Table, item_keys: Sequence[keys.Key]) -> int:
    """BatchWriteItem deletes, 25 a call (boto3's batch writer sends unprocessed items again)."""
    if item_keys:
        table.batch_delete(item_keys)
    return len(item_keys)


def remove_profile(table: Table, cid: str) -> int:
    return 1 if table.delete(keys.creator_profile(cid)) is not None else 0


def ordered(steps: Iterable[str], done: Iterable[str]) -> Iterator[tuple[str, bool]]:
    """Each step with whether it is done (for the progress page)."""
    finished = set(done)
    return ((step, step in finished) for step in steps)


def asset_ids(table: Table, cid: str) -> list[str]:
    """Every video of the creator (one Query on `ASSET#`, its children skipped)."""
    items = table.query_all(keys.creator_pk(cid), keys.asset_prefix())
    return [keys.asset_id_from_sk(item["SK"]) for item in items if item.get("type") == "asset"]


def clip_ids(table: Table, cid: str) -> list[str]:
    items = table.query_all(keys.creator_pk(cid), keys.clip_prefix())
    return [keys.clip_id_from_sk(item["SK"]) for item in items if item.get("type") == "clip"]


def stream_ids(table: Table, cid: str) -> list[str]:
    items = table.query_all(keys.creator_pk(cid), keys.stream_prefix())
    return [keys.stream_id_from_sk(item["SK"]) for item in items if item.get("type") == "stream"]


def unfinished_for_email(table: Table, email: str) -> list[Deletion]:
    """The deletions of this email's accounts that started and haven't finished, oldest first
    (for the operator who resumes them; the email may lead to a newer account by now): one
    Scan."""
    wanted = (
        Attr("type").eq(ITEM_TYPE)
        & Attr("status").eq(DELETING)
        & Attr("subject_email").eq(keys.normalise_email(email))
    )
    found = [_from(item) for item in table.scan(wanted)]
    return sorted(found, key=lambda deletion: deletion.started_at)


def transfer_keys(table: Table, cid: str) -> list[keys.Key]:
    """The creator's export and import items (`EXPORT#`, `IMPORT#`): removed first, so a
    running export or import job's next progress write fails and it stops."""
    pk = keys.creator_pk(cid)
    prefixes = (keys.export_prefix(), keys.import_prefix())
    return [{"PK": i["PK"], "SK": i["SK"]} for p in prefixes for i in table.query_all(pk, p)]
