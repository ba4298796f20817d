"""Chromium on the real local stack: a chat file of a past stream goes up from the new-stream
page (static/js/direct_upload.js: ask, straight to storage with progress, confirm), the stream
page opens, polls the import's progress and shows the messages imported."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import sign_in
from tests.stack import LocalStack

pytestmark = pytest.mark.e2e
IMPORT_WAIT_MS = 120_000  # the import job on a loaded machine
MESSAGES = 240


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    local = LocalStack(tmp_path_factory.mktemp("chat-import-stack")).start()
    yield local
    local.stop()


def chat_file(dest: Path) -> Path:
    """A chat-downloader export: MESSAGES messages over four minutes."""
    messages = [
        {
            "message": "KEKW" if n % 3 else "what a play",
            "message_id": f"m{n}",
            "time_in_seconds": n,
            "author": {"name": f"viewer{n % 17}", "id": f"u{n % 17}"},
            "action_type": "add_chat_item",
            "message_type": "text_message",
        }
        for n in range(MESSAGES)
    ]
    dest.write_text(json.dumps(messages))
    return dest


def test_a_chat_file_is_imported_through_the_page(
    page: Page, stack: LocalStack, tmp_path: Path
) -> None:
    sign_in(page, stack, f"chat-{uuid.uuid4().hex[:8]}@example.com")
    page.goto(f"{stack.url}/streams/new")
    form = page.locator("#chat-import")
    page.locator("#chat-file").set_input_files(str(chat_file(tmp_path / "chat.json")))
    form.get_by_label("Title (optional)").fill("Finals night")
    form.get_by_role("button", name="Upload and import the chat").click()

    expect(page).to_have_url(re.compile(r"/streams/[0-9A-Z]{26}$"), timeout=IMPORT_WAIT_MS)
    expect(page.get_by_role("heading", name="Finals night")).to_be_visible()
    # while the job reads the file the page polls; once it ends the page reloads with the counts
    messages = page.locator("dl div").filter(has=page.get_by_text("Messages", exact=True))
    expect(messages.locator("dd")).to_have_text(f"{MESSAGES}", timeout=IMPORT_WAIT_MS)
    expect(page.get_by_text("imported", exact=True)).to_be_visible()
