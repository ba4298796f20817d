"""Deleting a video while its jobs run ends with nothing left: no items, no S3 objects under
the creator, the Gemini upload deleted (the real google-genai client against the fake Gemini
server). Also: an unfinished multipart upload's parts go when its confirmation fails, and a
failed analysis still plays its stored source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import fakeredis
import pytest
from flask import Flask, current_app
from flask.testing import FlaskClient

from tests.support.app import AuthActions, make_app
from tests.support.clips import (
    htmx_headers,
    install_queue,
    load_clip,
    make_clip,
    ready_asset,
)
from tests.support.fake_gemini import FakeGemini, answer_reply, error_reply
from tests.support.gemini import answer, moment
from tests.support.media import Videos
from tests.support.pipeline import uploaded_asset
from truss import jobs
from truss.analysis.factory import build_analyzer, gemini_file_deleter
from truss.data import assets, clips, keys, shares
from truss.data.gemini_files import AssetFileCache
from truss.data.table import NotFound
from truss.extensions import get_storage, get_table
from truss.services import clips as clip_service
from truss.services import uploads


@pytest.fixture(scope="module")
def video(videos: Videos) -> Path:
    return videos.cut_halfway(30)


def delete_video(cid: str, aid: str) -> None:
    """What the Delete button does."""
    deleter = gemini_file_deleter(current_app.config) or uploads.keep_remote_file
    uploads.delete_asset(get_table(), get_storage(), cid, aid, deleter)


def everything_of(cid: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Every item in the creator's partition (but the monthly usage counters, which outlive
    a video) and every S3 object under the creator."""
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(
        current_app.config["TRUSS_TABLE"]
    )
    items = [
        item
        for item in table.scan()["Items"]
        if item["PK"] == keys.creator_pk(cid) and item.get("type") != "usage"  # monthly counters
    ]
    s3 = boto3.client("s3", region_name="us-east-1")
    listed = s3.list_objects_v2(Bucket=current_app.config["TRUSS_BUCKET"], Prefix="creators/")
    return items, [obj["Key"] for obj in listed.get("Contents", [])]


def analyse_with(hook: Any) -> None:
    """Run the real pipeline, calling `hook(cid, aid)` while the analyzer works."""

    def analyzer_for(asset: assets.Asset, path: Path, probe: Any) -> Any:
        cache = AssetFileCache(get_table(), asset.creator_id, asset.id)
        real = build_analyzer(current_app.config, path, probe, cache)

        class DeletedMidway:
            name = real.name

            def analyze(self, *args: Any, **kwargs: Any) -> Any:
                return hook(asset, real, args, kwargs)

        return DeletedMidway()

    pipeline = jobs.pipeline()
    pipeline.analyzer_for = analyzer_for
    asset = assets.get(get_table(), "C1", "01AAAAAAAAAAAAAAAAAAAAAAAA")
    pipeline.analyze(asset.creator_id, asset.id, asset.run)


def queued(video: Path) -> assets.Asset:
    asset = uploaded_asset(video)
    return assets.transition(
        get_table(), asset.creator_id, asset.id, assets.UPLOADED, assets.QUEUED,
        run=assets.next_run(asset),
    )  # fmt: skip


def test_deleting_while_gemini_answers_leaves_nothing_behind(
    gemini_app: Flask, fake: FakeGemini, video: Path
) -> None:
    fake.answer(answer(moment(2, 12, 70), moment(14, 24, 60)))
    with gemini_app.test_request_context():
        asset = queued(video)

        def answered_then_deleted(asset: assets.Asset, real: Any, args: Any, kw: Any) -> Any:
            result = real.analyze(*args, **kw)  # the file is uploaded, the model answered
            assert fake.files  # the upload exists at this point
            delete_video(asset.creator_id, asset.id)
            return result  # the job goes on to write chapters and clips: fenced

        analyse_with(answered_then_deleted)
        items, objects = everything_of(asset.creator_id)
    assert items == [] and objects == []
    assert fake.files == {}  # files.delete was called for the video's upload
    assert len(fake.seen("delete_file")) == 1


def test_deleting_before_the_gemini_upload_finishes_deletes_the_new_file_too(
    gemini_app: Flask, fake: FakeGemini, video: Path
) -> None:
    fake.answer(answer(moment(2, 12, 70)))
    with gemini_app.test_request_context():
        asset = queued(video)

        def deleted_then_uploaded(asset: assets.Asset, real: Any, args: Any, kw: Any) -> Any:
            delete_video(asset.creator_id, asset.id)  # nothing on the asset to delete yet
            return real.analyze(*args, **kw)  # uploads, then can't remember it: deletes it

        analyse_with(deleted_then_uploaded)
        items, objects = everything_of(asset.creator_id)
    assert items == [] and objects == []  # the thumbnail uploaded before the delete is gone
    assert len(fake.seen("upload_start")) == 1 and len(fake.seen("delete_file")) == 1
    assert fake.files == {}
    assert fake.seen("generate") == []  # no tokens spent on a deleted video


def test_a_failed_gemini_run_keeps_its_tokens_and_its_player(
    gemini_app: Flask, fake: FakeGemini, video: Path
) -> None:
    unreadable = answer_reply("not json at all", prompt_tokens=3000, output_tokens=90)
    fake.script("generate", unreadable, unreadable)  # the answer and the one retry
    browser = gemini_app.test_client()
    creator = AuthActions(gemini_app, browser).login()
    with gemini_app.test_request_context():
        asset = uploaded_asset(video, cid=creator.id)
        jobs.request_analysis(asset)
        failed = assets.get(get_table(), asset.creator_id, asset.id)
    assert failed.status == assets.FAILED, failed
    assert (failed.input_tokens, failed.output_tokens) == (6000, 180)  # both tries counted
    html = browser.get(f"/assets/{asset.id}").get_data(as_text=True)
    assert "nothing to play" not in html and '<video id="player"' in html
    assert "6,000 input" in html


def test_a_gemini_error_message_is_not_shown_as_nothing_to_play(
    gemini_app: Flask, fake: FakeGemini, video: Path
) -> None:
    fake.script("generate", error_reply(400, "Request contains an invalid argument."))
    browser = gemini_app.test_client()
    creator = AuthActions(gemini_app, browser).login()
    with gemini_app.test_request_context():
        asset = uploaded_asset(video, cid=creator.id)
        jobs.request_analysis(asset)
    html = browser.get(f"/assets/{asset.id}").get_data(as_text=True)
    assert "There's nothing to play" not in html
    assert '<video id="player"' in html and "Retry the analysis" in html


MIB = 1024**2


def test_confirming_an_unfinished_multipart_upload_aborts_it(aws: None) -> None:
    app = make_app(fakeredis.FakeRedis(), MULTIPART_THRESHOLD_BYTES=MIB)
    with app.test_request_context():
        limits = uploads.UploadLimits.from_config(app.config)
        plan = uploads.start_upload(
            get_table(), get_storage(), "C1", "big.mp4", 20 * MIB, "video/mp4", limits
        )
        asset = assets.get(get_table(), "C1", plan["asset_id"])
        s3 = boto3.client("s3", region_name="us-east-1")
        bucket = app.config["TRUSS_BUCKET"]
        s3.upload_part(
            Bucket=bucket, Key=asset.source_key, UploadId=asset.upload_id, PartNumber=1,
            Body=b"\x00" * (16 * MIB),
        )  # fmt: skip
        failed = uploads.confirm(get_table(), get_storage(), "C1", asset.id, limits).asset
        assert failed.status == assets.FAILED
        assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_clip_picked_while_the_video_is_being_deleted_is_refused_with_why(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    """The page was open when the video's delete began (the asset is fenced, its item not
    yet gone): the new clip must not be written, or it would outlive its video."""
    creator = auth.login("picker@example.com")
    asset = ready_asset(app, creator.id, "Podcast", duration=600.0)
    queue = install_queue(app)
    headers = htmx_headers(client)
    with app.app_context():
        assets.fence(get_table(), creator.id, asset.id)  # the delete has started
    answer = client.post(
        f"/assets/{asset.id}/clips", data={"start": "1:00", "end": "1:30"}, headers=headers
    )
    assert answer.status_code == 200
    assert clip_service.VIDEO_DELETED in answer.get_data(as_text=True)
    assert queue.renders == []
    with app.app_context():
        assert list(get_table().query_all(keys.creator_pk(creator.id), keys.clip_prefix())) == []


CLID = "01JBBBBBBBBBBBBBBBBBBBBBBB"


def test_a_clip_shared_moments_before_its_delete_loses_its_link(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    """Deleting a video lists its clips through an index whose copy may predate the share:
    the link must stop working all the same."""
    creator = auth.login("sharer@example.com")
    asset = ready_asset(app, creator.id)
    clip = make_clip(app, creator.id, asset.id, CLID)  # as the index shows it: no token
    client.post(f"/clips/{CLID}/share", headers=htmx_headers(client, f"/clips/{CLID}"))
    token = load_clip(app, creator.id, CLID).share_token
    assert client.get(f"/s/{token}").status_code == 200
    with app.app_context():
        clip_service.delete_clip(get_table(), get_storage(), clip)
        assert not shares.get(get_table(), token).live
    assert client.get(f"/s/{token}").status_code == 410


def test_a_clip_being_deleted_cannot_be_shared(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    creator = auth.login("late@example.com")
    asset = ready_asset(app, creator.id)
    clip = make_clip(app, creator.id, asset.id, CLID)
    with app.app_context():
        clips.fence(get_table(), creator.id, CLID)  # the delete has begun
        with pytest.raises(NotFound):
            clip_service.start_sharing(get_table(), clip)
        assert load_clip(app, creator.id, CLID).share_token == ""
    answer = client.post(f"/clips/{CLID}/share", headers=htmx_headers(client, f"/clips/{CLID}"))
    assert answer.status_code == 404
