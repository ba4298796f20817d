"""The clips page: filters and search return exactly the matching clips over several pages;
best-score order is exact across page boundaries (the score is in GSI1's sort key)."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.clips import clip_id, fail, make_clip, ready_asset
from truss.data.clip_queries import BEST, NEWEST, ClipFilters, fill_page, search_words
from truss.data.clips import Clip
from truss.extensions import get_table

CARD = re.compile(r'<li class="clip-card" id="clip-([^"]+)" data-score="(\d+)"')
MORE = re.compile(r'hx-get="([^"]*cursor=[^"]*)"')


def walk(app: Flask, cid: str, filters: ClipFilters, page_size: int) -> list[list[Clip]]:
    """Every page the service hands out, following its cursors to the end."""
    pages, cursor = [], None
    with app.test_request_context():
        while True:
            page = fill_page(get_table(), cid, filters, cursor, page_size)
            pages.append(page.clips)
            cursor = page.cursor
            if cursor is None:
                return pages


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("truss.clips.routes.PAGE_SIZE", 4)


@pytest.fixture
def library(app: Flask, auth: Any) -> dict[str, Any]:
    """30 clips over two videos with varied scores, words and render states."""
    creator = auth.login("lib@example.com")
    talk = ready_asset(app, creator.id, "Launch talk")
    stream = ready_asset(app, creator.id, "Friday stream")
    rng = random.Random(7)
    made = []
    for n in range(30):
        asset = talk if n % 3 else stream
        words = ("Rocket launch", "#space") if n % 4 == 0 else ("Cooking fail", "#food")
        clip = make_clip(
            app, creator.id, asset.id, clip_id(n), score=rng.choice([10, 40, 40, 75, 90, 100]),
            title=f"{words[0]} {n}", hashtags=(words[1],), rendered=n % 5 != 0,
        )  # fmt: skip
        made.append(clip)
    fail(app, creator.id, clip_id(5), "r1", "ffmpeg fell over")
    return {"cid": creator.id, "talk": talk, "stream": stream, "clips": made}


def expected(app: Flask, library: dict[str, Any], keep: Any) -> set[str]:
    from tests.support.clips import load_clip

    return {c.id for c in library["clips"] if keep(load_clip(app, library["cid"], c.id))}


def test_newest_first_pages_hold_every_clip_once_in_key_order(
    app: Flask, library: dict[str, Any]
) -> None:
    pages = walk(app, library["cid"], ClipFilters(sort=NEWEST), page_size=7)
    ids = [clip.id for page in pages for clip in page]
    assert ids == sorted((c.id for c in library["clips"]), reverse=True)
    assert [len(page) for page in pages[:-1]] == [7] * (len(pages) - 1)


def test_best_score_first_is_exact_across_page_boundaries(
    app: Flask, library: dict[str, Any]
) -> None:
    pages = walk(app, library["cid"], ClipFilters(sort=BEST), page_size=4)
    ordered = [(clip.score, clip.id) for page in pages for clip in page]
    assert len(pages) >= 7
    assert ordered == sorted(((c.score, c.id) for c in library["clips"]), reverse=True)


def talk_launch_40(lib: dict[str, Any], c: Clip) -> bool:
    return c.asset_id == lib["talk"].id and c.score >= 40 and "launch" in c.title.lower()


CASES: list[tuple[str, Any, Any]] = [
    (
        "video",
        lambda lib: ClipFilters(asset_id=lib["stream"].id),
        lambda lib, c: c.asset_id == lib["stream"].id,
    ),
    ("min score", lambda lib: ClipFilters(min_score=75), lambda lib, c: c.score >= 75),
    ("ready", lambda lib: ClipFilters(status="ready"), lambda lib, c: c.render_status == "ready"),
    (
        "working",
        lambda lib: ClipFilters(status="working"),
        lambda lib, c: c.render_status == "pending",
    ),
    (
        "failed",
        lambda lib: ClipFilters(status="failed"),
        lambda lib, c: c.render_status == "failed",
    ),
    (
        "word",
        lambda lib: ClipFilters(words=search_words("ROCKET")),
        lambda lib, c: "Rocket" in c.title,
    ),
    ("hashtag", lambda lib: ClipFilters(words=("#food",)), lambda lib, c: "#food" in c.hashtags),
    (
        "two words",
        lambda lib: ClipFilters(words=("watch", "fail")),
        lambda lib, c: "Cooking" in c.title,
    ),
    (
        "everything at once",
        lambda lib: ClipFilters(asset_id=lib["talk"].id, min_score=40, words=("launch",)),
        talk_launch_40,
    ),
    ("no match", lambda lib: ClipFilters(words=("nothing-like-this",)), lambda lib, c: False),
]


def test_filters_and_search_return_exactly_the_matching_clips(
    app: Flask, library: dict[str, Any]
) -> None:
    """Every filter, in both orders, over pages of 3: the matching clips, each once."""
    for name, make_filters, keep in CASES:
        wanted = expected(app, library, lambda clip, keep=keep: keep(library, clip))
        for sort in (NEWEST, BEST):
            base = make_filters(library)
            filters = ClipFilters(base.asset_id, base.min_score, base.status, base.words, sort)
            pages = walk(app, library["cid"], filters, page_size=3)
            ids = [clip.id for page in pages for clip in page]
            assert len(ids) == len(set(ids)), f"{name}/{sort}: a clip came twice"
            assert set(ids) == wanted, f"{name}/{sort}"
            assert all(len(page) <= 3 for page in pages), f"{name}/{sort}"
            scores = [clip.score for clip in (c for page in pages for c in page)]
            if sort == BEST:
                assert scores == sorted(scores, reverse=True), f"{name}/{sort}"


def test_a_search_finds_words_typed_into_the_hook_after_an_edit(
    app: Flask, client: FlaskClient, library: dict[str, Any]
) -> None:
    from tests.support.clips import htmx_headers

    target = clip_id(1)
    headers = htmx_headers(client)
    client.post(f"/clips/{target}/fields/hook", data={"value": "Zebra crossing"}, headers=headers)
    page = client.get("/clips?q=zebra").get_data(as_text=True)
    assert [m.group(1) for m in CARD.finditer(page)] == [target]


def test_the_page_loads_more_with_the_signed_cursor_and_keeps_the_filters(
    client: FlaskClient, library: dict[str, Any], small_pages: None
) -> None:
    page = client.get("/clips?sort=score&min_score=40").get_data(as_text=True)
    seen = [(int(score), clid) for clid, score in CARD.findall(page)]
    while (more := MORE.search(page)) is not None:
        url = more.group(1).replace("&amp;", "&")
        assert "min_score=40" in url and "sort=score" in url
        page = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
        assert "<h1>" not in page  # a fragment, not a whole page
        seen += [(int(score), clid) for clid, score in CARD.findall(page)]
    assert len(seen) == len({clid for _, clid in seen})
    assert [score for score, _ in seen] == sorted((score for score, _ in seen), reverse=True)
    assert all(score >= 40 for score, _ in seen)
    assert len(seen) == sum(1 for c in library["clips"] if c.score >= 40) > 4


def test_a_cursor_from_another_creator_is_refused(
    app: Flask, client: FlaskClient, auth: Any, library: dict[str, Any], small_pages: None
) -> None:
    page = client.get("/clips").get_data(as_text=True)
    url = MORE.search(page).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    auth.login("someone-else@example.com")
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "Go back to the first page" in response.get_data(as_text=True)


def test_cards_show_score_title_length_and_source_video(
    client: FlaskClient, library: dict[str, Any]
) -> None:
    page = client.get("/clips?video=" + library["stream"].id).get_data(as_text=True)
    assert "From Friday stream" in page and "From Launch talk" not in page
    assert "Score " in page and "0:20" in page  # every clip is 20 s long


def test_empty_states_say_what_to_do(client: FlaskClient, auth: Any) -> None:
    auth.login("new@example.com")
    page = client.get("/clips").get_data(as_text=True)
    assert "No clips yet" in page and 'href="/upload"' in page
    page = client.get("/clips?q=anything").get_data(as_text=True)
    assert "No clips match these filters" in page and "show all clips" in page


@pytest.mark.parametrize(
    "query", ["sort=random", "status=lost", "min_score=lots", "min_score=101", "min_score=-1"]
)
def test_nonsense_in_the_url_is_a_400(client: FlaskClient, auth: Any, query: str) -> None:
    auth.login()
    assert client.get("/clips?" + query).status_code == 400


def test_nav_has_a_clips_link(client: FlaskClient, auth: Any) -> None:
    auth.login()
    page = client.get("/dashboard").get_data(as_text=True)
    assert re.search(r'<a href="/clips"[^>]*>Clips</a>', page)
