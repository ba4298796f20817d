"""Captions without the web app: the ASS file and its burn-in (real ffmpeg with libass),
the SRT/WebVTT exports, uploaded subtitle files, corrected words."""

from __future__ import annotations

import html
import io
import os
import re
from pathlib import Path

import pytest
import srt
import webvtt

from tests.support.media import frame_rgb
from truss.captions import ass, exports, fonts, styles, transcripts
from truss.captions.burn import write_overlay
from truss.captions.model import UPLOAD, Transcript, TranscriptError, Word, correct, make
from truss.media import run_ffmpeg

W, H = 180, 320
WORDS = [Word(0.5, 0.9, "one"), Word(1.2, 1.6, "two"), Word(1.9, 2.3, "three")]
NASTY = [Word(0.2, 0.8, "{\\b1}bold"), Word(0.9, 1.4, "<script>alert(1)</script>,"),
         Word(1.5, 2.0, "a,b,c"), Word(2.1, 2.6, "line\nbreak\\N")]  # fmt: skip


def burned(tmp_path: Path, words: list[Word], style: str, seconds: float = 3.0) -> Path:
    """A grey W x H video of `seconds` with the words burned in (as the render appends it)."""
    overlay = write_overlay(words, style, tmp_path, W, H)
    out = tmp_path / f"{style}.mp4"
    source = f"color=c=0x404040:s={W}x{H}:r=25:d={seconds}"
    args = ["-y", "-v", "error", "-f", "lavfi", "-i", source, "-vf", overlay]
    run_ffmpeg(
        [*args, "-c:v", "libx264", "-crf", "10", "-pix_fmt", "yuv444p", str(out)], 60, "burn"
    )
    return out


def caption_box(
    frame: bytes, x0: float = 0.0, x1: float = 1.0, y0: float = 0.0, y1: float = 1.0
) -> bytes:
    """The bytes of the frame's rows y0..y1 and columns x0..x1 (shares of the size)."""
    rows = [frame[y * W * 3 : (y + 1) * W * 3] for y in range(int(H * y0), int(H * y1))]
    return b"".join(row[int(W * x0) * 3 : int(W * x1) * 3] for row in rows)


def differs(a: bytes, b: bytes, threshold: int = 60) -> int:
    """How many bytes differ by more than `threshold` (compression noise is smaller)."""
    return sum(1 for p, q in zip(a, b, strict=True) if abs(p - q) > threshold)


def test_words_style_lights_each_word_up_at_its_time(tmp_path: Path) -> None:
    video = burned(tmp_path, WORDS, styles.WORDS)
    frame = {t: frame_rgb(video, t, W, H) for t in (0.3, 0.6, 0.8, 1.3, 1.5, 2.0, 2.2)}
    assert differs(frame[0.3], frame[0.6]) > 200  # nothing, then the line with "one" lit
    for before, after in ((0.8, 1.3), (1.5, 2.0)):  # the highlight moves at each word's start
        assert differs(frame[before], frame[after]) > 50, (before, after)
    for same in ((0.6, 0.8), (1.3, 1.5), (2.0, 2.2)):  # ...and nowhere else
        assert differs(frame[same[0]], frame[same[1]]) == 0, same


def test_lines_style_shows_the_line_from_first_word_to_last(tmp_path: Path) -> None:
    video = burned(tmp_path, WORDS, styles.LINES)
    frames = [frame_rgb(video, t, W, H) for t in (0.3, 0.6, 1.3, 2.2)]
    assert differs(frames[0], frames[1]) > 200
    assert differs(frames[1], frames[2]) == 0 and differs(frames[2], frames[3]) == 0


def test_captions_keep_clear_of_the_apps_buttons_and_bottom_bar(tmp_path: Path) -> None:
    long_line = [Word(0.1 + i * 0.1, 0.2 + i * 0.1, w) for i, w in enumerate("W" * 40)]
    video = burned(tmp_path, long_line, styles.LINES, seconds=5.0)
    blank, shown = frame_rgb(video, 0.05, W, H), frame_rgb(video, 4.5, W, H)
    assert differs(caption_box(blank), caption_box(shown)) > 500  # the text is there...
    assert differs(caption_box(blank, y0=0.80), caption_box(shown, y0=0.80)) == 0  # not low
    assert differs(caption_box(blank, x0=0.86), caption_box(shown, x0=0.86)) == 0  # not right


def test_text_with_ass_syntax_shows_as_typed(tmp_path: Path) -> None:
    document = ass.document(NASTY, styles.WORDS, W, H)
    events = [line for line in document.splitlines() if line.startswith("Dialogue:")]
    assert len(events) == len(NASTY)  # a newline in a word made no new line
    for event in events:
        text = event.split(",", 9)[9]  # commas in the words stay in the text field
        blocks = re.findall(r"(?<!\\)\{[^}]*\}", text)  # override blocks: only our own tags
        assert all(re.fullmatch(r"\{\\(c&H[0-9A-F]{8}&|fn[^}]+)\}", b) for b in blocks), blocks
        assert "\\N" not in text.replace("\\\u2060N", "")  # no forced line break
    video = burned(tmp_path, NASTY, styles.WORDS)
    assert differs(frame_rgb(video, 0.1, W, H), frame_rgb(video, 0.5, W, H)) > 200


def test_srt_and_vtt_exports_parse_and_match_the_transcript() -> None:
    words = exports.on_clip([Word(10.5, 10.9, "Hello,"), Word(11.0, 11.4, "<world>"),
                             Word(14.0, 14.5, "again & again")], clip_start=10.0)  # fmt: skip
    subs = list(srt.parse(exports.to_srt(words)))
    assert [s.content for s in subs] == ["Hello, <world>", "again & again"]
    assert subs[0].start.total_seconds() == pytest.approx(0.5)
    assert subs[1].start.total_seconds() == pytest.approx(4.0)
    assert subs[0].end.total_seconds() <= subs[1].start.total_seconds()
    cues = list(webvtt.from_buffer(io.StringIO(exports.to_vtt(words))))
    assert [c.start_in_seconds for c in cues] == [0, 4]
    assert [html.unescape(c.text) for c in cues] == [
        "Hello, <world>",
        "again & again",
    ]  # as players read it
    assert "<world>" not in exports.to_vtt(words)  # escaped: not a WebVTT tag


GOOD_SRT = (
    "1\n00:00:01,000 --> 00:00:02,000\nHello <i>there</i>\n\n"
    "2\n00:00:03,000 --> 00:00:04,500\nsecond line\nof it\n\n"
)


def test_an_uploaded_srt_becomes_timed_words_on_the_source_timeline() -> None:
    transcript = transcripts.from_cues(transcripts.parse(GOOD_SRT.encode(), "a.srt"), 20.0, 10.0)
    assert transcript.source == UPLOAD and not transcript.rough
    assert transcript.text == "Hello there second line of it"
    assert transcript.words[0].start == pytest.approx(21.0)
    assert transcript.words[2].start == pytest.approx(23.0)
    starts = [w.start for w in transcript.words]
    assert starts == sorted(starts) and transcript.words[-1].end <= 24.5


@pytest.mark.parametrize(
    ("body", "name", "line"),
    [
        (
            "1\n00:00:01,000 --> 00:00:02,000\nhi\n\n2\n00:00:0x,000 --> 00:00:04,000\nbad\n",
            "a.srt",
            5,
        ),
        ("1\n00:00:05,000 --> 00:00:02,000\nbackwards\n", "a.srt", 2),
        (
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhi\n\n00:00:0x.000 --> 00:00:04.000\nbad\n",
            "a.vtt",
            6,
        ),
    ],
)
def test_a_broken_subtitle_file_is_refused_with_its_line(body: str, name: str, line: int) -> None:
    with pytest.raises(TranscriptError, match=rf"^Line {line}\b"):
        transcripts.parse(body.encode(), name)


def test_a_file_that_is_not_text_or_has_no_subtitles_is_refused() -> None:
    with pytest.raises(TranscriptError, match="UTF-8"):
        transcripts.parse(b"1\n\xff\xfe\x00", "a.srt")
    with pytest.raises(TranscriptError, match="no subtitles"):
        transcripts.parse(b"WEBVTT\n\n", "a.vtt")


def test_corrected_words_keep_the_timings() -> None:
    heard = make("offline", [Word(1.0, 1.4, "the"), Word(1.5, 2.0, "quack"), Word(2.1, 2.5, "fox")])
    fixed = correct(heard, "the quick fox", 0.0, 10.0)
    assert [(w.start, w.end, w.text) for w in fixed.words] == [
        (1.0, 1.4, "the"), (1.5, 2.0, "quick"), (2.1, 2.5, "fox"),
    ]  # fmt: skip
    assert fixed.corrected and "corrected" in fixed.label
    longer = correct(heard, "the quick brown fox", 0.0, 10.0)
    assert [w.text for w in longer.words] == ["the", "quick", "brown", "fox"]
    assert longer.words[1].start == 1.5 and longer.words[2].end == pytest.approx(2.0, abs=0.01)
    with pytest.raises(TranscriptError):
        correct(heard, "   ", 0.0, 10.0)


def test_a_transcript_round_trips_through_json() -> None:
    transcript = Transcript(
        UPLOAD, (Word(1.0, 1.5, "مرحبا"), Word(1.6, 2.0, "你好")), corrected=True
    )
    assert Transcript.from_json(transcript.to_json()) == transcript


@pytest.mark.parametrize("text", ["مرحبا بالعالم", "你好世界", "שלום"])
def test_right_to_left_and_cjk_words_are_drawn(tmp_path: Path, text: str) -> None:
    missing = fonts.missing_scripts(text)  # .ci/run installs DejaVu and WenQuanYi Zen Hei
    if missing:  # a visible skip on a machine without the Debian fonts, a failure under CI
        message = (
            f"no font for {', '.join(missing)} (apt-get install fonts-dejavu-core fonts-wqy-zenhei)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    video = burned(tmp_path, [Word(0.5, 2.0, text)], styles.WORDS)
    blank, shown = frame_rgb(video, 0.2, W, H), frame_rgb(video, 1.0, W, H)
    assert differs(caption_box(blank), caption_box(shown)) > 200


def test_without_a_cjk_font_the_render_works_and_the_script_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fonts, "FONT_DIRS", (tmp_path / "no-fonts",))
    assert fonts.missing_scripts("hello 你好") == ["Chinese, Japanese and Korean", "Latin"]
    video = burned(tmp_path, [Word(0.5, 2.0, "hello"), Word(0.5, 2.0, "你好")], styles.LINES)
    assert video.stat().st_size > 0


def test_a_subtitle_file_of_the_whole_video_is_read_on_the_videos_times() -> None:
    whole = "1\n00:00:02,000 --> 00:00:03,000\nbefore\n\n2\n00:01:05,000 --> 00:01:06,000\ninside\n"
    cues = transcripts.parse(whole.encode(), "talk.srt")
    transcript = transcripts.from_cues(cues, 60.0, 10.0)  # the clip is 1:00-1:10 of the video
    assert [(w.start, w.text) for w in transcript.words] == [(65.0, "inside")]
    with pytest.raises(TranscriptError, match="None of this file's subtitles"):
        transcripts.from_cues(cues, 200.0, 10.0)


def test_webvtt_short_times_settings_and_milliseconds_are_read() -> None:
    body = (
        "WEBVTT\n\n1\n00:01.250 --> 00:02.500 align:start\nshort\n\n"
        "01:00:03.000 --> 01:00:04.000\nlong\n"
    )
    cues = transcripts.parse(body.encode(), "a.vtt")
    assert [(c.start, c.end, c.text) for c in cues] == [
        (1.25, 2.5, "short"),
        (3603.0, 3604.0, "long"),
    ]
