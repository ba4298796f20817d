"""The library (`/assets`): Load more with the signed cursor, status filter via GSI1, pages."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.support.assets import (
    csrf_headers,
    item_keys,
    load,
    make_asset,
    object_exists,
    put_source,
)
from truss.data import assets
from truss.extensions import get_table

HX = {"HX-Request": "true"}


def row_ids(html: str) -> list[str]:
    return re.findall(r'<tr id="asset-([0-9A-Z]+)"', html)


def load_more_url(html: str) -> str | None:
    found = re.search(r'id="load-more".*?hx-get="([^"]+)"', html, re.S)
    return found.group(1).replace("&amp;", "&") if found else None


def test_sixty_assets_in_three_pages_each_once_newest_first(
    app: Flask, client: FlaskClient, auth
) -> None:
    creator = auth.login("a@example.com")
    made = [make_asset(app, creator.id, title=f"Video {n}").id for n in range(60)]

    first = client.get("/assets").get_data(as_text=True)
    seen = row_ids(first)
    pages = 1
    url = load_more_url(first)
    while url:
        fragment = client.get(url, headers=HX)
        assert fragment.status_code == 200
        html = fragment.get_data(as_text=True)
        assert "<html" not in html  # a fragment, not a page
        seen += row_ids(html)
        pages += 1
        url = load_more_url(html)
    assert pages == 3
    assert len(seen) == len(set(seen)) == 60
    assert seen == list(reversed(made))


def test_chapters_items_are_not_listed_as_videos(app: Flask, client: FlaskClient, auth) -> None:
    creator = auth.login("a@example.com")
    asset = make_asset(app, creator.id)
    with app.app_context():
        from truss.data import keys

        get_table().put_new({**keys.asset_chapters(creator.id, asset.id), "type": "chapters"})
    assert row_ids(client.get("/assets").get_data(as_text=True)) == [asset.id]


def test_tampered_or_foreign_cursor_is_a_clear_400(app: Flask, client: FlaskClient, auth) -> None:
    other = app.test_client()
    from tests.support.app import AuthActions

    b = AuthActions(app, other).login("b@example.com")
    for n in range(30):
        make_asset(app, b.id, title=f"B {n}")
    theirs = load_more_url(other.get("/assets").get_data(as_text=True))
    assert theirs

    a = auth.login("a@example.com")
    for n in range(30):
        make_asset(app, a.id, title=f"A {n}")
    mine = load_more_url(client.get("/assets").get_data(as_text=True))
    assert mine
    tampered = mine[:-3] + ("AAA" if not mine.endswith("AAA") else "BBB")
    response = client.get(tampered, headers=HX)
    assert response.status_code == 400
    assert "page link" in response.get_data(as_text=True)
    response = client.get(theirs)
    assert response.status_code == 400
    assert "Go back to the first page" in response.get_data(as_text=True)


def test_status_filter_returns_exactly_that_status_after_transitions(
    app: Flask, client: FlaskClient, auth
) -> None:
    creator = auth.login("a@example.com")
    uploading = {make_asset(app, creator.id).id for _ in range(3)}
    ready = {make_asset(app, creator.id, status="ready").id for _ in range(2)}
    failed = {make_asset(app, creator.id, status="failed").id for _ in range(2)}
    moved = uploading.pop()
    with app.app_context():
        assets.transition(get_table(), creator.id, moved, "uploading", "uploaded")

    def listed(status: str) -> set[str]:
        return set(row_ids(client.get(f"/assets?status={status}").get_data(as_text=True)))

    assert listed("uploading") == uploading
    assert listed("uploaded") == {moved}
    assert listed("ready") == ready
    assert listed("failed") == failed
    assert listed("queued") == set()
    assert "No videos are queued" in client.get("/assets?status=queued").get_data(as_text=True)
    assert client.get("/assets?status=bogus").status_code == 400


def test_status_filter_pages_through_gsi1(app: Flask, client: FlaskClient, auth) -> None:
    creator = auth.login("a@example.com")
    ready = {make_asset(app, creator.id, status="ready").id for _ in range(27)}
    make_asset(app, creator.id)
    first = client.get("/assets?status=ready").get_data(as_text=True)
    url = load_more_url(first)
    assert url and "status=ready" in url
    rest = client.get(url, headers=HX).get_data(as_text=True)
    assert set(row_ids(first)) | set(row_ids(rest)) == ready


def test_rows_show_size_status_reason_and_abandoned(app: Flask, client: FlaskClient, auth) -> None:
    creator = auth.login("a@example.com")
    make_asset(app, creator.id, title="Stuck.mp4", expires_in=-1)
    make_asset(app, creator.id, title="Broken.mp4", status="failed")
    make_asset(app, creator.id, title="Fine.mp4", size=3 * 1024**2, status="uploaded")
    html = client.get("/assets").get_data(as_text=True)
    assert "abandoned" in html
    assert "Delete it and upload the file again" in html
    assert "Broken on purpose." in html
    assert "3.0 MB" in html
    assert 'data-confirm="Delete' in html


def test_asset_page_has_player_details_and_polling(app: Flask, client: FlaskClient, auth) -> None:
    creator = auth.login("a@example.com")
    asset = make_asset(app, creator.id, title="Talk.mp4", status="uploaded")
    html = client.get(f"/assets/{asset.id}").get_data(as_text=True)
    assert "<video" in html
    assert f"creators/{creator.id}/assets/{asset.id}/source" in html
    assert "X-Amz-Expires=900" in html
    assert "Talk.mp4" in html
    assert 'hx-trigger="every 2s"' in html
    status = client.get(f"/assets/{asset.id}/status", headers=HX)
    assert status.status_code == 200

    done = make_asset(app, creator.id, status="ready")
    status = client.get(f"/assets/{done.id}/status", headers=HX)
    assert status.status_code == 286  # htmx stops polling at a terminal state
    assert "every 3s" not in status.get_data(as_text=True)


def test_rename_through_htmx(app: Flask, client: FlaskClient, auth) -> None:
    creator = auth.login("a@example.com")
    asset = make_asset(app, creator.id, title="raw_0001.mp4")
    form = client.get(f"/assets/{asset.id}/title?edit=1", headers=HX).get_data(as_text=True)
    assert f'<label for="title-input-{asset.id}">' in form
    headers = {**HX, **csrf_headers(client)}
    response = client.post(
        f"/assets/{asset.id}/title", data={"title": "Launch day"}, headers=headers
    )
    assert response.status_code == 200
    assert "Launch day" in response.get_data(as_text=True)
    assert load(app, creator.id, asset.id).title == "Launch day"
    empty = client.post(f"/assets/{asset.id}/title", data={"title": " "}, headers=headers)
    assert "title can&#39;t be empty" in empty.get_data(as_text=True)
    assert load(app, creator.id, asset.id).title == "Launch day"


def test_delete_removes_objects_and_items(app: Flask, client: FlaskClient, auth) -> None:
    creator = auth.login("a@example.com")
    asset = make_asset(app, creator.id, status="ready")
    key = put_source(app, creator.id, asset.id, b"v" * 10)
    thumb = put_source(app, creator.id, asset.id, b"jpg", "image/jpeg").replace("source", "thumb")
    with app.app_context():
        from truss.extensions import get_storage

        get_storage().put_bytes(thumb, b"jpg", "image/jpeg")
    headers = {**HX, **csrf_headers(client)}
    response = client.post(f"/assets/{asset.id}/delete", headers=headers)
    assert response.headers["HX-Redirect"] == "/assets"
    assert not object_exists(app, key)
    assert not object_exists(app, thumb)
    assert item_keys(app, creator.id) == []
    assert "Deleted" in client.get("/assets").get_data(as_text=True)


def test_upload_page_is_labelled(client: FlaskClient, auth) -> None:
    auth.login("a@example.com")
    html = client.get("/upload").get_data(as_text=True)
    assert '<label for="video-files">' in html
    assert 'id="video-files"' in html and "multiple" in html
    assert "js/upload.js" in html
    assert "5.0 GB" in html
    nav = client.get("/assets").get_data(as_text=True)
    assert 'href="/upload"' in nav and 'href="/assets"' in nav
