"""A creator with a bit of everything, and what a whole-table scan and a bucket listing still
find of a creator: for the account deletion tests (unit and stack). No tests in here."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass

from boto3.dynamodb.conditions import Attr
from flask import Flask

from tests.support.assets import BODY, put_source
from tests.support.clips import make_clip, ready_asset
from truss.data import keys, magic_links, publications, streams, usage
from truss.data.creators import get_or_create_by_email, link_identity
from truss.data.publications import Publication
from truss.extensions import get_redis, get_storage, get_table
from truss.services.clips import start_sharing
from truss.streams import live_store


@dataclass(frozen=True)
class Account:
    cid: str
    email: str
    aid: str
    clid: str
    sid: str
    share: str


def populate(app: Flask, email: str, clid: str) -> Account:
    """A creator with a video (source file), a rendered clip with a live share link, usage,
    a live stream with a spike and a chat archive chunk, a scheduled post, an OAuth
    identity and an unused sign-in link."""
    with app.app_context():
        table = get_table()
        cid = get_or_create_by_email(table, email).id
        link_identity(table, "google", f"subject-{cid}", cid)
        magic_links.save(table, secrets.token_urlsafe(32), email, None, int(time.time()) + 900)
    asset = ready_asset(app, cid, title=f"Talk of {email}")
    put_source(app, cid, asset.id, BODY)
    clip = make_clip(app, cid, asset.id, clid)
    with app.app_context():
        table, storage = get_table(), get_storage()
        share = start_sharing(table, clip)
        usage.set_asset_stored(table, cid, asset.id, len(BODY))
        stream = streams.create(table, cid, "twitch", f"chan{cid[-4:].lower()}", "Live show")
        streams.mark_moment(table, cid, stream.id, 42.0)
        chunk = keys.stream_archive_prefix(cid, stream.id) + "chat-000001.jsonl.gz"
        storage.put_bytes(chunk, b"chat lines", "application/gzip")
        live_store.add_live(get_redis(), cid, stream.id, "twitch", "chan")
        now = int(time.time())
        publications.create(
            table,
            Publication(
                creator_id=cid, platform="youtube", clip_id=clid, asset_id=asset.id,
                scheduled_at=now + 3600, text="Best moment", created=now,
            ),
        )  # fmt: skip
    return Account(cid, keys.normalise_email(email), asset.id, clid, stream.id, share)


def table_traces(app: Flask, cid: str, email: str) -> list[dict[str, object]]:
    """Every item of the whole table (a test-only Scan) whose keys or attributes carry the
    creator's id or email."""
    with app.app_context():
        everything = get_table().scan(Attr("PK").exists())
        return [
            item
            for item in everything
            if cid in (text := json.dumps(item, default=str)) or email in text
        ]


def bucket_traces(app: Flask, cid: str) -> list[str]:
    """Every object of the bucket whose key carries the creator's id."""
    with app.app_context():
        return [key for key, _ in get_storage().list_prefix("", limit=100_000) if cid in key]
