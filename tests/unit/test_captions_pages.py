"""The clip page's transcript and captions: shown, corrected, replaced by an uploaded file,
downloaded as SRT/WebVTT, found by the clips search, used by the next render, and nobody
else's business."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
import srt
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import AuthActions
from tests.support.clips import clip_id, htmx_headers, load_clip, make_clip, ready_asset
from truss.captions import fonts, offline, store, styles
from truss.captions.burn import caption_overlay
from truss.captions.model import OFFLINE, Transcript, Word, make
from truss.extensions import get_storage, get_table

APP_SETTINGS = {"CAPTIONS_RECOGNISER": "offline"}  # a render may transcribe (unit default: off)
HEARD = [
    Word(10.5, 11.0, "hello"),
    Word(11.1, 11.6, "wurld"),
    Word(12.0, 12.4, "{\\b1}<script>x,y"),
]


def clip_with_words(app: Flask, cid: str, n: int = 1, words: list[Word] = HEARD) -> str:
    asset = ready_asset(app, cid)
    clid = clip_id(n)
    clip = make_clip(app, cid, asset.id, clid, window=(10.0, 30.0))
    with app.app_context():
        store.save(get_table(), get_storage(), clip, make(OFFLINE, words))
    return clid


def section(client: FlaskClient, clid: str) -> str:
    response = client.get(f"/clips/{clid}/captions")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_clip_page_shows_the_transcript_labelled_rough(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    clid = clip_with_words(app, auth.login().id)
    assert f'hx-get="/clips/{clid}/captions"' in client.get(f"/clips/{clid}").get_data(as_text=True)
    html = section(client, clid)
    assert "rough: recognised offline" in html and "often mishears" in html
    assert "0:00.5</span> hello" in html and "wurld" in html
    assert "<script>" not in html and "{\\b1}&lt;script&gt;x,y" in html  # shown as text
    assert f'href="/clips/{clid}/captions.srt"' in html
    box = html.split('id="captions-words"', 1)[1].split("</textarea>", 1)[0]
    assert "hello" in box and "wurld" in box  # the words to correct, not an empty box


def test_a_corrected_word_is_saved_and_used_by_the_next_render(
    app: Flask, client: FlaskClient, auth: AuthActions, tmp_path: Path
) -> None:
    cid = auth.login().id
    clid = clip_with_words(app, cid)
    headers = htmx_headers(client, f"/clips/{clid}")
    sent = client.post(
        f"/clips/{clid}/captions/words", data={"words": "hello world {\\b1}<script>x,y"},
        headers=headers,
    )  # fmt: skip
    assert sent.status_code == 200 and "world" in sent.get_data(as_text=True)
    assert "corrected by you" in sent.get_data(as_text=True)
    assert "often mishears" not in sent.get_data(as_text=True)  # checked by the creator now
    clip = load_clip(app, cid, clid)
    with app.app_context():
        overlay = caption_overlay(clip, styles.WORDS, tmp_path, 180, 320, get_storage())
    assert overlay is not None and overlay.startswith("ass=filename=")
    document = (tmp_path / "captions.ass").read_text()
    assert "world" in document and "wurld" not in document
    assert "Dialogue: 0,0:00:01.10," in document  # the corrected word kept its time (11.1 - 10)
    with app.app_context():
        assert caption_overlay(clip, styles.NONE, tmp_path, 180, 320, get_storage()) is None


def test_empty_corrections_are_refused_and_nothing_is_lost(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    clid = clip_with_words(app, auth.login().id)
    headers = htmx_headers(client, f"/clips/{clid}")
    sent = client.post(f"/clips/{clid}/captions/words", data={"words": "  "}, headers=headers)
    assert "can&#39;t be empty" in sent.get_data(as_text=True)
    assert "wurld" in section(client, clid)


def test_an_uploaded_subtitle_file_replaces_the_transcript_and_a_broken_one_is_refused(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    clid = clip_with_words(app, auth.login().id)
    headers = htmx_headers(client, f"/clips/{clid}")
    broken = b"1\n00:00:01,000 --> 00:00:02,000\nfine\n\n2\n00:00:0x,000 --> 00:00:04,000\nbad\n"
    sent = client.post(
        f"/clips/{clid}/captions/file", headers=headers,
        data={"subtitles": (io.BytesIO(broken), "mine.srt")}, content_type="multipart/form-data",
    )  # fmt: skip
    assert "Line 5 of the SRT file" in sent.get_data(as_text=True)
    assert "wurld" in section(client, clid)  # the old transcript stays
    good = b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nfrom my file\n"
    sent = client.post(
        f"/clips/{clid}/captions/file", headers=headers,
        data={"subtitles": (io.BytesIO(good), "mine.vtt")}, content_type="multipart/form-data",
    )  # fmt: skip
    html = sent.get_data(as_text=True)
    assert "from your subtitle file" in html and "0:01</span> from" in html
    assert "wurld" not in html


def test_captions_download_as_srt_matching_the_transcript(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    clid = clip_with_words(app, auth.login().id)
    response = client.get(f"/clips/{clid}/captions.srt")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    subs = list(srt.parse(response.get_data(as_text=True)))
    assert " ".join(s.content for s in subs) == "hello wurld {\\b1}<script>x,y"
    assert subs[0].start.total_seconds() == 0.5
    vtt = client.get(f"/clips/{clid}/captions.vtt")
    assert vtt.mimetype == "text/vtt" and vtt.get_data(as_text=True).startswith("WEBVTT")
    assert client.get(f"/clips/{clid}/captions.ass").status_code == 404


def test_the_clips_search_finds_a_clip_by_a_transcript_word(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    clid = clip_with_words(app, auth.login().id)
    assert clid in client.get("/clips?q=wurld").get_data(as_text=True)
    assert clid not in client.get("/clips?q=zebra").get_data(as_text=True)


def test_another_creator_can_not_read_change_or_download_a_transcript(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    owner = auth.login("owner@example.com").id
    clid = clip_with_words(app, owner)
    auth.login("other@example.com")
    headers = htmx_headers(client)
    assert client.get(f"/clips/{clid}/captions").status_code == 404
    assert client.get(f"/clips/{clid}/captions.srt").status_code == 404
    assert client.get(f"/clips/{clid}/captions.vtt").status_code == 404
    sent = client.post(f"/clips/{clid}/captions/words", data={"words": "mine"}, headers=headers)
    assert sent.status_code == 404
    upload = client.post(
        f"/clips/{clid}/captions/file", headers=headers, content_type="multipart/form-data",
        data={"subtitles": (io.BytesIO(b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nx\n"), "a.vtt")},
    )  # fmt: skip
    assert upload.status_code == 404
    assert clid not in client.get("/clips?q=wurld").get_data(as_text=True)
    auth.login("owner@example.com")
    assert "wurld" in section(client, clid)  # unchanged


def test_the_page_says_which_script_the_captions_can_not_draw(
    app: Flask, client: FlaskClient, auth: AuthActions, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    clid = clip_with_words(app, auth.login().id, words=[Word(11.0, 12.0, "你好"), *HEARD])
    assert "captions-missing-fonts" not in section(client, clid)
    monkeypatch.setattr(fonts, "FONT_DIRS", (tmp_path / "no-fonts",))
    assert "can't draw Chinese, Japanese and Korean, Latin text" in section(client, clid)


def test_a_render_transcribes_once_and_again_only_past_what_was_heard(
    app: Flask, auth: AuthActions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    heard: list[tuple[float, float]] = []

    def recogniser(source: Path, start: float, end: float) -> Transcript:
        heard.append((start, end))
        return make(OFFLINE, [Word(start + 0.5, start + 1.0, "heard")], span=(start, end))

    monkeypatch.setattr(offline, "transcribe", recogniser)
    cid = auth.login().id
    asset = ready_asset(app, cid)
    clip = make_clip(app, cid, asset.id, clip_id(1), window=(10.0, 30.0))
    with app.app_context():
        table, storage = get_table(), get_storage()
        render = caption_overlay(clip, styles.WORDS, tmp_path, 180, 320, storage, table, tmp_path)
        assert render is not None and heard == [(10.0, 30.0)]
        caption_overlay(clip, styles.WORDS, tmp_path, 180, 320, storage, table, tmp_path)
        assert heard == [(10.0, 30.0)]  # a re-render reuses it
        trimmed = replace(clip, start=5.0)
        caption_overlay(trimmed, styles.WORDS, tmp_path, 180, 320, storage, table, tmp_path)
        assert heard == [(10.0, 30.0), (5.0, 30.0)]  # trimmed earlier: heard again
        assert store.load(storage, clip) is not None
