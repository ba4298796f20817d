"""Chromium on the real local stack (issue 16): a creator exports from "Your data" (progress
polled on the page, then a download link), the archive is downloaded, and a second account
imports it through the page (straight to storage, then the import's progress): the video and
the clip are in the second library."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.e2e.helpers import sign_in
from tests.stack import LocalStack
from tests.support.app import app_on_stack
from tests.support.media import Spec, synth_video
from truss.analysis.base import Moment
from truss.data import assets, clips, keys
from truss.data.creators import find_creator_by_email, new_id
from truss.extensions import get_storage, get_table

pytestmark = pytest.mark.e2e
WAIT_MS = 120_000
CLIPS = 30  # enough files that the export's progress is on the page for a moment


def seed_library(app: Flask, email: str, video: Path) -> None:
    """A ready video and CLIPS rendered clips (the real MP4 each) for the signed-up creator."""
    with app.app_context():
        table, storage = get_table(), get_storage()
        creator = find_creator_by_email(table, email)
        assert creator is not None
        aid = new_id()
        assets.create(
            table, creator.id, aid, title="Launch talk", file_name="launch.mp4",
            expected_size=1, declared_type="video/mp4", upload_mode="post",
            upload_expires_at=2**40,
        )  # fmt: skip
        for step in (assets.UPLOADED, assets.QUEUED, assets.ANALYZING, assets.RENDERING):
            assets.transition(
                table, creator.id, aid, assets.get(table, creator.id, aid).status, step
            )
        assets.transition(table, creator.id, aid, assets.RENDERING, assets.READY)
        for n in range(CLIPS):
            clid = new_id()
            moment = Moment(n, n + 5.0, f"Moment number {n}", "Hook", 50, "Why", ("#x",), "")
            clips.create_from_moment(table, creator.id, aid, clid, moment, rank=n)
            clips.start_render(table, creator.id, clid, "r1")
            mp4 = keys.clip_video_object(creator.id, clid, "r1")
            poster = keys.clip_poster_object(creator.id, clid, "r1")
            storage.upload(str(video), mp4, "video/mp4")
            storage.put_bytes(poster, b"poster", "image/jpeg")
            clips.finish_render(table, creator.id, clid, "r1", mp4, poster)


def test_export_download_and_import_on_a_second_account(
    local_stack: LocalStack, page: Page, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    video = synth_video(tmp_path / "clip.mp4", Spec(2.0, "180x320", cut_at=None, loud=None))
    first = f"export-{uuid.uuid4().hex[:8]}@example.com"
    sign_in(page, local_stack, first)
    seed_library(app_on_stack(local_stack, monkeypatch), first, video)

    page.get_by_role("link", name="Export everything, or import an archive…").click()
    expect(page.get_by_role("heading", name="Your data")).to_be_visible()
    page.get_by_label("Include source videos").check()
    page.get_by_role("button", name="Start an export").click()
    row = page.get_by_test_id("export").first
    expect(row).to_have_attribute("data-status", "ready", timeout=WAIT_MS)  # polled, no reload
    with page.expect_download() as downloading:
        row.get_by_test_id("download-export").click()
    archive = tmp_path / "archive.zip"
    downloading.value.save_as(archive)
    names = zipfile.ZipFile(io.BytesIO(archive.read_bytes())).namelist()
    assert "manifest.json" in names and "items.jsonl" in names
    assert len([n for n in names if n.startswith("clips/Moment-number-")]) == CLIPS
    manifest = json.loads(zipfile.ZipFile(archive).read("manifest.json"))
    assert manifest["schema_version"] == 1

    page.context.clear_cookies()
    sign_in(page, local_stack, f"import-{uuid.uuid4().hex[:8]}@example.com")
    page.goto(local_stack.url + "/account/data")
    page.get_by_label("Archive (.zip)").set_input_files(str(archive))
    page.get_by_role("button", name="Upload and import the archive").click()
    imported = page.get_by_test_id("import").first
    expect(imported).to_have_attribute("data-status", "done", timeout=WAIT_MS)
    expect(imported).to_contain_text(f"Imported {CLIPS + 1} items and {2 * CLIPS} files")
    imported.get_by_role("link", name="Open your library").click()
    expect(page.get_by_text("Launch talk").first).to_be_visible()
    page.goto(local_stack.url + "/clips")
    expect(page.get_by_role("link", name=f"Moment number {CLIPS - 1}", exact=True)).to_be_visible()
    assert errors == []
