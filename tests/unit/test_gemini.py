"""GeminiAnalyzer through the real google-genai client, answered by tests/support/fake_gemini.py."""

from __future__ import annotations

import itertools
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_gemini import API_KEY, FakeGemini, Recorded, Reply, error_reply
from tests.support.gemini import answer, make_analyzer, moment, not_a_video, probe
from truss.analysis.base import AnalysisError, ClipLengths, Usage
from truss.analysis.gemini import (
    UNREACHABLE,
    UNREADABLE,
    UPLOAD_FAILED,
    GeminiAnalyzer,
    GeminiSettings,
    UploadedFile,
    estimate_cost_usd,
)
from truss.analysis.gemini_schema import ChapterAnswer, clean_chapters, plan_windows

LENGTHS = ClipLengths(min_s=15, max_s=60)


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return not_a_video(tmp_path / "talk.mp4")


def proto_json(value: Any) -> Any:
    """Proto JSON accepts snake_case and lowerCamelCase names; the SDK sends both kinds."""
    if isinstance(value, dict):
        return {_camel(k): proto_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [proto_json(v) for v in value]
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def request_parts(request: Recorded) -> list[dict[str, Any]]:
    return proto_json(request.json()["contents"][0]["parts"])


# --- happy path --------------------------------------------------------------------------


def test_happy_path_returns_moments_chapters_usage_and_sends_a_structured_request(
    fake: FakeGemini, video: Path
) -> None:
    fake.answer(answer(moment(30, 60, 72), moment(120, 150, 91)), 5000, 400)
    analyzer = make_analyzer(fake, refine=lambda s, e: (s + 1.0, e - 1.0))

    result = analyzer.analyze(video, probe(300), LENGTHS, max_moments=5)

    assert result.analyzer == "gemini"
    assert [(m.start, m.end, m.score) for m in result.moments] == [
        (121.0, 149.0, 91),
        (31.0, 59.0, 72),
    ]
    assert result.moments[0].hashtags == ("#funny",)
    assert result.moments[0].reason == "Strong hook and payoff"
    assert [(c.start, c.end, c.title) for c in result.chapters] == [(0, 300, "Intro")]
    assert result.summary == "A talk about things."
    assert result.usage == Usage(input_tokens=5000, output_tokens=400, media_seconds=300)

    (start,) = fake.seen("upload_start")
    assert start.path == "/upload/v1beta/files"
    assert start.headers["x-goog-upload-protocol"] == "resumable"
    assert start.headers["x-goog-upload-command"] == "start"
    assert start.headers["x-goog-upload-header-content-type"] == "video/mp4"
    (chunk,) = fake.seen("upload")
    assert chunk.headers["x-goog-upload-command"] == "upload, finalize"
    assert chunk.body == video.read_bytes()

    (request,) = fake.seen("generate")
    assert request.path == "/v1beta/models/gemini-3.8-flash:generateContent"
    body = request.json()
    video_part, text_part = request_parts(request)
    file_id = fake.seen("get_file")[-1].path.rsplit("/", 1)[1]
    assert video_part["fileData"]["fileUri"].endswith(f"/files/{file_id}")
    assert video_part["fileData"]["mimeType"] == "video/mp4"
    assert "videoMetadata" not in video_part
    assert "300.0 seconds" in text_part["text"] and "15 to 60 seconds" in text_part["text"]
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    schema = config["responseSchema"]
    item = schema["properties"]["moments"]["items"]
    assert set(item["required"]) >= {"start_seconds", "end_seconds", "virality_score", "hook"}
    assert "chapters" in schema["properties"] and "summary" in schema["properties"]
    assert "mediaResolution" not in config


def test_key_is_read_from_the_environment_by_the_sdk(
    fake: FakeGemini, video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", API_KEY)
    fake.answer(answer(moment(10, 40)))
    result = make_analyzer(fake, api_key=None).analyze(video, probe(300), LENGTHS)
    assert len(result.moments) == 1
    assert all(r.headers.get("x-goog-api-key") == API_KEY for r in fake.seen("generate"))


# --- trusting nothing --------------------------------------------------------------------


def test_moments_are_clamped_filtered_trimmed_deduplicated_and_sorted(
    fake: FakeGemini, video: Path
) -> None:
    fake.answer(
        answer(
            moment(290, 330, 80, title="past the end"),
            moment(50, 40, 99, title="inverted"),
            moment(10, 14, 99, title="tiny"),
            moment(20, 50, 70, title="overlapped loser"),
            moment(25, 55, 95, title="overlapped winner"),
            moment(0, 119, 99, title="a whole section"),
            moment(150, 230, 150, title="overlong", hashtags=["funny", " #Cats ", "#funny", ""]),
            moment(220, 240, -5, title="negative"),
        )
    )
    result = make_analyzer(fake).analyze(video, probe(300), LENGTHS)

    assert [(m.title, m.start, m.end, m.score) for m in result.moments] == [
        ("overlong", 150, 210, 100),
        ("overlapped winner", 25, 55, 95),
        ("past the end", 290, 300, 80),
        ("negative", 220, 240, 0),
    ]
    assert result.moments[0].hashtags == ("#funny", "#Cats")


def test_moments_are_capped_to_max_moments(fake: FakeGemini, video: Path) -> None:
    fake.answer(answer(*(moment(i * 30, i * 30 + 20, 50 + i) for i in range(6))))
    result = make_analyzer(fake).analyze(video, probe(300), LENGTHS, max_moments=2)
    assert [m.score for m in result.moments] == [55, 54]


def test_refine_that_breaks_the_rules_is_ignored(fake: FakeGemini, video: Path) -> None:
    fake.answer(answer(moment(30, 60)))
    analyzer = make_analyzer(fake, refine=lambda s, e: (e, s))
    (only,) = analyzer.analyze(video, probe(300), LENGTHS).moments
    assert (only.start, only.end) == (30, 60)


def test_no_usable_moment_gives_an_empty_list_never_the_whole_video(
    fake: FakeGemini, video: Path
) -> None:
    fake.answer(answer(moment(0, 300, 90), moment(5, 6, 90)))
    result = make_analyzer(fake).analyze(video, probe(300), LENGTHS)
    assert result.moments == []
    assert result.chapters


def test_invalid_json_twice_is_a_clear_error(fake: FakeGemini, video: Path) -> None:
    fake.answer("this is not { json")
    fake.answer({"moments": "nope"})
    with pytest.raises(AnalysisError) as caught:
        make_analyzer(fake).analyze(video, probe(300), LENGTHS)
    assert str(caught.value) == UNREADABLE
    assert len(fake.seen("generate")) == 2


def test_invalid_json_once_then_valid_succeeds_and_counts_both_requests(
    fake: FakeGemini, video: Path
) -> None:
    fake.answer('```json\n{"moments": [', 1000, 50)
    fake.answer(answer(moment(30, 60)), 1000, 100)
    result = make_analyzer(fake).analyze(video, probe(300), LENGTHS)
    assert len(result.moments) == 1
    assert (result.usage.input_tokens, result.usage.output_tokens) == (2000, 150)


# --- faults ------------------------------------------------------------------------------


def test_429_is_retried_by_the_sdk_until_it_succeeds(fake: FakeGemini, video: Path) -> None:
    busy = error_reply(429, "Resource has been exhausted", "RESOURCE_EXHAUSTED")
    fake.script("generate", busy, busy)
    fake.answer(answer(moment(30, 60)))
    result = make_analyzer(fake).analyze(video, probe(300), LENGTHS)
    assert len(result.moments) == 1
    assert len(fake.seen("generate")) == 3


def test_5xx_that_never_ends_fails_after_the_configured_attempts(
    fake: FakeGemini, video: Path, caplog: pytest.LogCaptureFixture
) -> None:
    down = error_reply(503, "The model is overloaded", "UNAVAILABLE")
    fake.script("generate", down, down, down, down)
    with pytest.raises(AnalysisError, match=r"unavailable.*try again later") as caught:
        make_analyzer(fake).analyze(video, probe(300), LENGTHS)
    assert len(fake.seen("generate")) == 3
    assert "overloaded" not in str(caught.value) and "overloaded" in caplog.text


def test_a_400_fails_at_once_with_fixed_wording_and_the_api_message_in_the_log(
    fake: FakeGemini, video: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The API's words may quote the request or name internals: the creator reads what
    happened and what to do, the operator finds the API's message in the worker's log."""
    fake.script("generate", error_reply(400, "Video is too long", "INVALID_ARGUMENT"))
    with pytest.raises(AnalysisError, match="upload the new file") as caught:
        make_analyzer(fake).analyze(video, probe(300), LENGTHS)
    assert len(fake.seen("generate")) == 1
    assert "too long" not in str(caught.value) and "400" not in str(caught.value)
    assert "Video is too long" in caplog.text


def test_an_invalid_key_names_the_setting(fake: FakeGemini, video: Path) -> None:
    with pytest.raises(AnalysisError, match="GEMINI_API_KEY") as caught:
        make_analyzer(fake, api_key="wrong").analyze(video, probe(300), LENGTHS)
    assert "API key not valid" not in str(caught.value)  # the API's words: logged only
    assert len(fake.requests) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_unauthorised_answers_name_the_setting(fake: FakeGemini, video: Path, status: int) -> None:
    fake.script("generate", error_reply(status, "Permission denied", "PERMISSION_DENIED"))
    with pytest.raises(AnalysisError, match="GEMINI_API_KEY"):
        make_analyzer(fake).analyze(video, probe(300), LENGTHS)
    assert len(fake.seen("generate")) == 1


def test_a_missing_key_names_the_setting_and_sends_nothing(fake: FakeGemini, video: Path) -> None:
    with pytest.raises(AnalysisError, match="GEMINI_API_KEY"):
        make_analyzer(fake, api_key=None).analyze(video, probe(300), LENGTHS)
    assert fake.requests == []


def test_a_file_that_stays_processing_times_out(fake: FakeGemini, video: Path) -> None:
    fake.file_states = ["PROCESSING"]
    with pytest.raises(AnalysisError, match="still processing"):
        make_analyzer(fake, active_timeout_s=0.05).analyze(video, probe(300), LENGTHS)
    assert fake.seen("generate") == []


def test_a_failed_file_says_what_to_do_and_logs_the_reason(
    fake: FakeGemini, video: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake.file_states = ["PROCESSING", "FAILED"]
    fake.failure_message = "Unsupported codec"
    with pytest.raises(AnalysisError, match="Export it again") as caught:
        make_analyzer(fake).analyze(video, probe(300), LENGTHS)
    assert fake.seen("generate") == []
    assert "Unsupported codec" not in str(caught.value) and "Unsupported codec" in caplog.text


# --- reusing uploads ---------------------------------------------------------------------


def test_an_existing_file_is_reused_without_uploading(fake: FakeGemini, video: Path) -> None:
    name = fake.add_file("old1")
    fake.answer(answer(moment(30, 60)))
    make_analyzer(fake).analyze(video, probe(300), LENGTHS, existing_file_name=name)
    assert fake.seen("upload_start") == []
    part = request_parts(fake.seen("generate")[0])[0]
    assert part["fileData"]["fileUri"].endswith("/files/old1")


@pytest.mark.parametrize(
    ("existing", "expires_in"),
    [("files/gone", None), ("files/old2", timedelta(minutes=5))],
    ids=["gone", "about-to-expire"],
)
def test_a_gone_or_expiring_file_is_uploaded_again(
    fake: FakeGemini, video: Path, existing: str, expires_in: timedelta | None
) -> None:
    if expires_in is not None:
        fake.add_file(existing.removeprefix("files/"), expires_in=expires_in)
    fake.answer(answer(moment(30, 60)))
    make_analyzer(fake).analyze(video, probe(300), LENGTHS, existing_file_name=existing)
    assert len(fake.seen("upload_start")) == 1


class MemoryCache:
    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self.stored: list[UploadedFile] = []

    def lookup(self, video: Path) -> str | None:
        return self.name

    def store(self, video: Path, file: UploadedFile) -> None:
        self.stored.append(file)


def test_the_file_cache_hook_stores_new_uploads_and_supplies_old_ones(
    fake: FakeGemini, video: Path
) -> None:
    cache = MemoryCache()
    fake.answer(answer(moment(30, 60)))
    fake.answer(answer(moment(30, 60)))
    analyzer = make_analyzer(fake, file_cache=cache)
    analyzer.analyze(video, probe(300), LENGTHS)
    (stored,) = cache.stored
    assert stored.name.startswith("files/") and stored.expires_at is not None

    cache.name = stored.name
    analyzer.analyze(video, probe(300), LENGTHS)
    assert len(fake.seen("upload_start")) == 1
    assert len(cache.stored) == 1


def test_delete_file_removes_it_and_tolerates_a_missing_one(fake: FakeGemini) -> None:
    name = fake.add_file("old3")
    analyzer = make_analyzer(fake)
    analyzer.delete_file(name)
    analyzer.delete_file(name)
    assert "old3" not in fake.files
    assert [r.path for r in fake.seen("delete_file")] == ["/v1beta/files/old3"] * 2


# --- long videos -------------------------------------------------------------------------


def test_a_long_video_uses_low_resolution_and_fewer_frames(fake: FakeGemini, video: Path) -> None:
    fake.answer(answer(moment(300, 330)))
    make_analyzer(fake).analyze(video, probe(20 * 60), LENGTHS)
    (request,) = fake.seen("generate")
    body = request.json()
    assert body["generationConfig"]["mediaResolution"] == "MEDIA_RESOLUTION_LOW"
    assert request_parts(request)[0]["videoMetadata"] == {"fps": 0.5}


def test_a_very_long_video_is_asked_about_in_overlapping_windows(
    fake: FakeGemini, video: Path
) -> None:
    duration = 100 * 60.0
    windows = plan_windows(duration, 45 * 60, 120)
    overlap_start = windows[1].start + 10
    fake.answer(answer(moment(overlap_start, overlap_start + 30, 70), chapters=[]))
    fake.answer(answer(moment(overlap_start + 1, overlap_start + 31, 85), chapters=[]))
    fake.answer(answer(moment(5900, 5930, 60), chapters=[]))

    result = make_analyzer(fake).analyze(video, probe(duration), LENGTHS)

    requests = fake.seen("generate")
    assert len(requests) == 3
    metadata = [request_parts(r)[0]["videoMetadata"] for r in requests]
    assert metadata[0] == {"fps": 0.5, "startOffset": "0s", "endOffset": f"{windows[0].end:.0f}s"}
    assert [m["startOffset"] for m in metadata[1:]] == [f"{int(w.start)}s" for w in windows[1:]]
    assert metadata[-1]["endOffset"] == "6000s"
    prompt = request_parts(requests[1])[1]["text"]
    assert "from the start of the full video" in prompt
    assert [(m.start, m.score) for m in result.moments] == [(overlap_start + 1, 85), (5900, 60)]
    assert result.usage.media_seconds == pytest.approx(sum(w.end - w.start for w in windows))


def test_plan_windows_cover_the_video_with_overlap_and_bounded_length() -> None:
    assert plan_windows(600, 2700, 120) == plan_windows(600, 2700, 60)
    assert len(plan_windows(2700, 2700, 120)) == 1
    windows = plan_windows(10_000, 2700, 120)
    assert windows[0].start == 0 and windows[-1].end == 10_000
    assert all(w.end - w.start <= 2700 + 1e-6 for w in windows)
    for first, second in itertools.pairwise(windows):
        assert first.end - second.start == pytest.approx(120)


def test_chapters_from_overlapping_windows_are_clamped_sorted_and_de_overlapped() -> None:
    answers = [
        ChapterAnswer(start_seconds=100, end_seconds=400, title="Two"),
        ChapterAnswer(start_seconds=-5, end_seconds=120, title="One", summary=" Hi "),
        ChapterAnswer(start_seconds=390, end_seconds=400.5, title="Repeat"),
        ChapterAnswer(start_seconds=380, end_seconds=900, title="Three"),
    ]
    chapters = clean_chapters(answers, duration=600)
    assert [(c.start, c.end, c.title) for c in chapters] == [
        (0, 120, "One"),
        (120, 400, "Two"),
        (400, 600, "Three"),
    ]
    assert chapters[0].summary == "Hi"


def test_an_unreachable_api_is_a_clear_error_with_the_details_only_in_the_log(
    fake: FakeGemini, video: Path, unused_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    analyzer = make_analyzer(fake, base_url=f"http://127.0.0.1:{unused_port}")
    with pytest.raises(AnalysisError) as failure:
        analyzer.analyze(video, probe(300), LENGTHS)
    shown = str(failure.value)  # what the creator reads on the video's page
    assert shown == UNREACHABLE and "re-analyse it" in shown
    assert str(unused_port) not in shown and "rrno" not in shown
    assert "Gemini could not be reached" in caplog.text and failure.value.__cause__ is not None


def test_a_broken_upload_protocol_is_a_fixed_message_not_the_sdk_exception(
    fake: FakeGemini, video: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake.script("upload_start", Reply(200, {}, {}))  # no X-Goog-Upload-URL: the SDK raises
    with pytest.raises(AnalysisError) as failure:
        make_analyzer(fake).analyze(video, probe(300), LENGTHS)
    assert str(failure.value) == UPLOAD_FAILED
    assert "Gemini upload of talk.mp4 failed" in caplog.text


def test_estimate_cost_usd() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=200_000)
    assert estimate_cost_usd(usage, 0.75, 3.75) == pytest.approx(1.5)
    assert GeminiAnalyzer(GeminiSettings()).cost_usd(usage) == pytest.approx(1.5)
