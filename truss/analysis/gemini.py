"""Gemini analyzer: upload to the Files API, ask once per window for JSON, trust nothing.

The only module in Truss that imports google.genai. Retries of 408/429/5xx are the SDK's
own (HttpRetryOptions); everything the API says is turned into an AnalysisError whose
message a creator can act on. The model chooses moments; `refine` (signal snapping) and
the rules in gemini_schema refine them.
"""

from __future__ import annotations

import importlib
import logging
import mimetypes
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from google import genai
from google.genai import errors, types
from pydantic import BaseModel

from truss.analysis.base import AnalysisError, AnalysisResult, ClipLengths, StreamInfo, Usage
from truss.analysis.gemini_schema import (
    GeminiAnswer,
    Refine,
    Window,
    add_usage,
    build_prompt,
    clean_chapters,
    clean_moments,
    estimate_cost_usd,
    parse_answer_text,
    plan_windows,
)

log = logging.getLogger(__name__)
DEFAULT_MODEL = "gemini-3.8-flash"
# The SDK defaults to v1 for the Gemini API; the Files API (upload/v1beta/files) and video
# options (media_resolution, videoMetadata) are served under v1beta, so we pin it.
API_VERSION = "v1beta"
RETRY_STATUS_CODES = [408, 429, 500, 502, 503, 504]
UNREADABLE = "Gemini returned an answer we couldn't read twice; try again later"


def _transport_errors() -> tuple[type[Exception], ...]:
    """The HTTP client's own errors (the SDK uses httpx2 or httpx, whichever is installed)."""
    found: list[type[Exception]] = []
    for module in ("httpx2", "httpx"):
        try:
            found.append(importlib.import_module(module).HTTPError)
        except ImportError:
            continue
    return tuple(found)


_TRANSPORT_ERRORS = _transport_errors()
NO_KEY = "Gemini needs an API key: set the GEMINI_API_KEY setting (or use the signal analyzer)"
UPLOAD_FAILED = "The video's upload to Gemini didn't complete; re-analyse it in a few minutes"
UNREACHABLE = "Truss couldn't reach Gemini to analyse this video; re-analyse it in a few minutes"
# What a creator reads when the API refuses (the API's own words go to the worker's log).
KEY_REFUSED = (
    "Gemini refused Truss's API key, so this video wasn't analysed. The site's operator "
    "must check the GEMINI_API_KEY setting; re-analyse the video once that's fixed"
)
RATE_LIMITED = "Gemini is too busy to analyse this video right now; re-analyse it in a few minutes"
UNAVAILABLE = "Gemini is unavailable right now, so this video wasn't analysed; try again later"
REFUSED = (
    "Gemini refused to analyse this video. Re-analyse it later; if it fails again, export "
    "the video again (H.264 MP4 works best) and upload the new file"
)
FILE_FAILED = (
    "Gemini could not process this video's file. Export it again (H.264 MP4 works best) "
    "and upload the new file"
)


@dataclass(frozen=True)
class GeminiSettings:
    model: str = DEFAULT_MODEL
    api_key: str | None = None  # None: the SDK reads GEMINI_API_KEY / GOOGLE_API_KEY itself
    base_url: str | None = None  # None: the SDK's default (or GOOGLE_GEMINI_BASE_URL)
    input_price_per_m: float = 0.75  # USD per million tokens (gemini-3.8-flash list price, 2026)
    output_price_per_m: float = 3.75
    active_timeout_s: float = 600.0  # bounded wait for an upload to become ACTIVE
    poll_interval_s: float = 5.0
    window_s: float = 45 * 60.0  # longer videos are asked about in overlapping windows
    window_overlap_s: float = 120.0
    long_video_s: float = 10 * 60.0  # longer: low media resolution and long_video_fps
    long_video_fps: float = 0.5  # with MEDIA_RESOLUTION_LOW about 65 tokens per second
    retry_attempts: int = 5  # including the first request
    retry_initial_delay_s: float = 1.0
    retry_max_delay_s: float = 60.0
    request_timeout_s: float = 600.0
    expiry_margin_s: float = 30 * 60.0  # an existing upload expiring sooner is uploaded again


@dataclass(frozen=True)
class UploadedFile:
    """A video in the Gemini Files API; store name and expiry on the asset (48 h life)."""

    name: str
    uri: str
    mime_type: str
    expires_at: datetime | None


class FileCache(Protocol):
    """Where the pipeline keeps an asset's uploaded file name between analyses."""

    def lookup(self, video: Path) -> str | None: ...

    def store(self, video: Path, file: UploadedFile) -> None: ...


class GeminiAnalyzer:
    """Analyzer backed by Gemini; see GeminiSettings for every knob."""

    name = "gemini"

    def __init__(
        self,
        settings: GeminiSettings | None = None,
        *,
        refine: Refine | None = None,
        file_cache: FileCache | None = None,
    ) -> None:
        self.settings = settings or GeminiSettings()
        self.refine = refine
        self.file_cache = file_cache
        self._client: genai.Client | None = None

    def analyze(
        self,
        video: Path,
        probe: StreamInfo,
        lengths: ClipLengths,
        max_moments: int = 8,
        *,
        existing_file_name: str | None = None,
    ) -> AnalysisResult:
        if probe.duration <= 0:
            raise AnalysisError("The video has no duration we can read; it cannot be analysed")
        cached = self.file_cache.lookup(video) if self.file_cache else None
        uploaded = self.ensure_file(video, existing_file_name or cached)
        answers: list[GeminiAnswer] = []
        usage = Usage()
        for window in plan_windows(
            probe.duration, self.settings.window_s, self.settings.window_overlap_s
        ):
            prompt = build_prompt(probe.duration, lengths, max_moments, window)
            try:
                answer, spent = self._ask(uploaded, probe.duration, prompt, window)
            except AnalysisError as exc:  # what earlier windows spent is counted too
                exc.usage = add_usage(usage, exc.usage or Usage(), 0.0)
                raise
            answers.append(answer)
            usage = add_usage(usage, spent, window.end - window.start)
        moments = clean_moments(
            (m for a in answers for m in a.moments),
            probe.duration,
            lengths,
            max_moments,
            self.refine,
        )
        chapters = clean_chapters((c for a in answers for c in a.chapters), probe.duration)
        summary = " ".join(a.summary.strip() for a in answers if a.summary.strip())
        return AnalysisResult(chapters, moments, usage, summary, analyzer=self.name)

    def cost_usd(self, usage: Usage) -> float:
        return estimate_cost_usd(
            usage, self.settings.input_price_per_m, self.settings.output_price_per_m
        )

    # --- files -----------------------------------------------------------------------

    def ensure_file(self, video: Path, existing_file_name: str | None = None) -> UploadedFile:
        """Reuse a still-valid upload by name, else upload; either way wait until ACTIVE."""
        existing = self._existing(existing_file_name) if existing_file_name else None
        uploaded = _uploaded_file(self._wait_until_active(existing or self._upload(video)))
        if existing is None and self.file_cache:
            try:
                self.file_cache.store(video, uploaded)
            except Exception:  # the video is gone: nobody could find this file to delete it
                self.delete_file(uploaded.name)
                raise
        return uploaded

    def delete_file(self, name: str) -> None:
        """Delete an upload; a file that is already gone is fine."""
        with self._api_errors():
            try:
                self.client().files.delete(name=name)
            except errors.APIError as exc:
                if exc.code not in (403, 404):
                    raise

    def _upload(self, video: Path) -> types.File:
        mime_type = mimetypes.guess_type(video.name)[0] or "video/mp4"
        config = types.UploadFileConfig(mime_type=mime_type, display_name=video.name[:500])
        with self._api_errors():
            try:
                return self.client().files.upload(file=video, config=config)
            except (KeyError, ValueError) as exc:  # the SDK's own upload protocol checks
                log.warning("Gemini upload of %s failed", video.name, exc_info=True)
                raise AnalysisError(UPLOAD_FAILED) from exc

    def _existing(self, name: str) -> types.File | None:
        with self._api_errors():
            try:
                file = self.client().files.get(name=name)
            except errors.APIError as exc:
                if exc.code in (403, 404):  # the API answers 403 for files it no longer has
                    return None
                raise
        margin = timedelta(seconds=self.settings.expiry_margin_s)
        expires = file.expiration_time
        if file.state == types.FileState.FAILED or (
            expires is not None and expires < datetime.now(UTC) + margin
        ):
            return None
        return file

    def _wait_until_active(self, file: types.File) -> types.File:
        deadline = time.monotonic() + self.settings.active_timeout_s
        while file.state != types.FileState.ACTIVE:
            if file.state == types.FileState.FAILED:
                reason = file.error.message if file.error and file.error.message else "no reason"
                log.warning("Gemini could not process file %s: %s", file.name, reason)
                raise AnalysisError(FILE_FAILED)
            if time.monotonic() >= deadline:
                raise AnalysisError(
                    "Gemini was still processing the video after "
                    f"{self.settings.active_timeout_s:g} s; try again later"
                )
            time.sleep(self.settings.poll_interval_s)
            with self._api_errors():
                file = self.client().files.get(name=file.name or "")
        return file

    # --- generation ------------------------------------------------------------------

    def _ask(
        self, file: UploadedFile, duration: float, prompt: str, window: Window
    ) -> tuple[GeminiAnswer, Usage]:
        """One request, and one more if the answer does not validate."""
        spent = Usage()
        for _ in range(2):
            response = self._generate(file, duration, prompt, window)
            spent = add_usage(spent, _usage_of(response), 0.0)
            answer = _read_answer(response)
            if answer is not None:
                return answer, spent
        raise AnalysisError(UNREADABLE, usage=spent)

    def ask_json(
        self, file: UploadedFile, duration: float, prompt: str, window: Window,
        schema: type[BaseModel],
    ) -> tuple[str | None, Usage]:  # fmt: skip
        """One request about `window` of an uploaded video for JSON shaped by `schema` (the
        clip captions' word timings ask this way): the answer's text and what it cost."""
        response = self._generate(file, duration, prompt, window, schema)
        try:
            text = response.text
        except ValueError:
            text = None
        return text, _usage_of(response)

    def _generate(
        self, file: UploadedFile, duration: float, prompt: str, window: Window,
        schema: type[BaseModel] = GeminiAnswer,
    ) -> types.GenerateContentResponse:  # fmt: skip
        is_long = duration > self.settings.long_video_s
        whole = window.start <= 0 and window.end >= duration
        metadata = None
        if is_long or not whole:
            metadata = types.VideoMetadata(
                fps=self.settings.long_video_fps if is_long else None,
                start_offset=None if whole else f"{int(window.start)}s",
                end_offset=None if whole else f"{int(window.end + 0.999)}s",
            )
        video = types.Part(
            file_data=types.FileData(file_uri=file.uri, mime_type=file.mime_type),
            video_metadata=metadata,
        )
        config = types.GenerateContentConfig(
            response_mime_type="application/json",
            response_schema=schema,
            media_resolution=types.MediaResolution.MEDIA_RESOLUTION_LOW if is_long else None,
        )
        contents = types.Content(role="user", parts=[video, types.Part(text=prompt)])
        with self._api_errors():
            return self.client().models.generate_content(
                model=self.settings.model, contents=contents, config=config
            )

    # --- client and errors -------------------------------------------------------------

    def client(self) -> genai.Client:
        """The SDK client, made on first use (a missing key is an AnalysisError)."""
        if self._client is None:
            try:
                self._client = genai.Client(
                    api_key=self.settings.api_key, http_options=self._http_options()
                )
            except ValueError as exc:
                raise AnalysisError(NO_KEY) from exc
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _http_options(self) -> types.HttpOptions:
        s = self.settings
        retry = types.HttpRetryOptions(
            attempts=s.retry_attempts,
            initial_delay=s.retry_initial_delay_s,
            max_delay=s.retry_max_delay_s,
            jitter=min(1.0, s.retry_initial_delay_s),
            http_status_codes=RETRY_STATUS_CODES,
        )
        return types.HttpOptions(
            api_version=API_VERSION,
            base_url=s.base_url,
            timeout=int(s.request_timeout_s * 1000),
            retry_options=retry,
        )

    @contextmanager
    def _api_errors(self) -> Iterator[None]:
        try:
            yield
        except errors.APIError as exc:
            raise _explain(exc) from exc
        except _TRANSPORT_ERRORS as exc:
            log.warning("Gemini could not be reached", exc_info=True)
            raise AnalysisError(UNREACHABLE) from exc


def _explain(exc: errors.APIError) -> AnalysisError:
    """Turn an API error into fixed wording a creator can act on; the API's own message
    (which may quote the request or name internals) goes to the worker's log only."""
    code = exc.code
    message = (exc.message or str(exc)).strip()
    log.warning("Gemini answered %s: %s", code, message)
    if code in (401, 403) or "API_KEY" in str(exc.details) or "API key" in message:
        return AnalysisError(KEY_REFUSED)
    if code == 429:
        return AnalysisError(RATE_LIMITED)
    if code >= 500:
        return AnalysisError(UNAVAILABLE)
    return AnalysisError(REFUSED)


def _uploaded_file(file: types.File) -> UploadedFile:
    if not file.name or not file.uri:
        raise AnalysisError("Gemini accepted the upload but returned no file name; try again")
    return UploadedFile(file.name, file.uri, file.mime_type or "video/mp4", file.expiration_time)


def _read_answer(response: types.GenerateContentResponse) -> GeminiAnswer | None:
    if isinstance(response.parsed, GeminiAnswer):
        return response.parsed
    try:
        text = response.text
    except ValueError:
        return None
    return parse_answer_text(text)


def _usage_of(response: types.GenerateContentResponse) -> Usage:
    meta = response.usage_metadata
    if meta is None:
        return Usage()
    output = (meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0)
    return Usage(input_tokens=meta.prompt_token_count or 0, output_tokens=output)
