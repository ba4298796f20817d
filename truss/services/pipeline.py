"""The analysis pipeline: check the video, make a thumbnail, find moments, fan out renders.

analyze(asset):  queued → analyzing → rendering (one render job per clip) → ready
render(clip):    pending → rendering → ready | failed; the asset is ready when every clip
                 has been counted once (a re-run job never counts twice).

Every job carries its run: analysis jobs the asset's `run` (set when it is queued), render
jobs the clip's `render_id`. Every claim and write is conditional on it, so a stale or
duplicate job does nothing, and a delete (which moves the asset out of every run) fences
running work: a fenced write removes the files it uploaded.

Collaborators (table, storage, analyzer, the render enqueuer, the chat spikes of the stream
a video belongs to) are arguments, so tests can pass fakes; `truss.jobs` builds the real ones.

A video linked to a stream gets the stream's chat spikes merged into the analyzer's moments
(truss.streams.moments): covered moments score higher with the chat's evidence, strong lone
spikes become clips of their own (source `chat`). Before that, the stream's reaction lag may be
estimated from the video's loudness (`estimate_chat_lag`, truss.streams.video_lag).
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from truss import media
from truss.analysis.base import (
    AnalysisError,
    AnalysisResult,
    Analyzer,
    ClipLengths,
    StreamInfo,
    Usage,
)
from truss.analysis.gemini_schema import add_usage
from truss.analytics import metrics
from truss.analytics.cost import ANALYSIS, RENDERS
from truss.analytics.recording import Tally
from truss.captions import gemini as gemini_words
from truss.captions import store as transcript_store
from truss.captions.burn import caption_overlay
from truss.captions.model import Transcript
from truss.data import assets, clips, keys
from truss.data import chapters as stored_chapters
from truss.data.assets import Asset
from truss.data.table import Conflict, NotFound, Table
from truss.range_source import serve_object
from truss.reframe import render as reframe
from truss.services import leases, quotas
from truss.services.chapters import save_chapters
from truss.services.clips import delete_clip
from truss.services.quotas import QuotaExceeded, Quotas
from truss.storage import Storage
from truss.streams import moments as chat_moments
from truss.streams.model import Spike
from truss.streams.moments import Sourced

log = logging.getLogger(__name__)

AnalyzerFactory = Callable[[Asset, Path, StreamInfo], Analyzer]
EnqueueRender = Callable[[str, str, str], object]
HandOver = Callable[[str, str, int, float, str], bool]  # cid, aid, run, duration, holder
ChatSpikesFor = Callable[[str, str, str], tuple[float, list[Spike]]]  # cid, aid, sid -> lag, spikes
Loudness = Callable[[], tuple[list[float], float]]  # () -> (loudness per bin, bin seconds)
ChatLag = Callable[[str, str, list[Spike], Loudness], float | None]  # None: keep the lag
Words = list[Transcript | None]  # each clip's timed words from the analysis, if any
NO_MOMENTS = "No clip-worthy moment found in this video."


def attempt_name(render_id: str) -> str:
    """A name for one attempt's files of a render: two jobs of the same render id (an RQ
    retry while the first still runs, an enqueue pushed twice) never write the same keys,
    so the one that loses the race deletes only its own files."""
    return f"{render_id}-{secrets.token_hex(4)}"


def _keep_going(cid: str, aid: str, run: int, duration_s: float, holder: str) -> bool:
    """Default hand-over: the current job's timeout fits every video."""
    return False


def _loudness(source: Path, probe: StreamInfo) -> tuple[list[float], float]:
    """The video's loudness per bin (one ffmpeg pass), for the reaction lag estimate."""
    signals = media.measure_signals(source, probe)
    return signals.loudness_db, signals.bin_s


def _no_chat(cid: str, aid: str, sid: str) -> tuple[float, list[Spike]]:
    """Default: the video belongs to no stream."""
    return 0.0, []


def _keep_lag(cid: str, aid: str, spikes: list[Spike], loudness: Loudness) -> float | None:
    """Default: no estimate, the stream's lag in use stays."""
    return None


@dataclass
class Pipeline:
    table: Table
    storage: Storage
    analyzer_for: AnalyzerFactory
    enqueue_render: EnqueueRender
    lengths: ClipLengths = field(default_factory=ClipLengths)
    max_moments: int = 8
    render_size: tuple[int, int] = (720, 1280)
    hand_over: HandOver = _keep_going  # True: a job whose timeout fits the video took over
    quota: Quotas = field(default_factory=Quotas)
    lease: leases.Lease = field(default_factory=leases.Lease)
    clock: Callable[[], float] = time.time
    lease_table: Callable[[], Table] | None = None  # the renewing thread's own (None: table)
    chat_spikes_for: ChatSpikesFor = _no_chat  # the linked stream's reaction lag and spikes
    estimate_chat_lag: ChatLag = _keep_lag  # a new lag estimate from the video, or None
    tally: Tally = field(default_factory=Tally)  # the daily counters (truss.analytics)
    gemini_words: bool = False  # ask Gemini for each clip's timed words (truss.captions.gemini)

    # -- analysis ---------------------------------------------------------------------------

    def analyze(self, cid: str, aid: str, run: int | None = None, handed_from: str = "") -> None:
        """Run one analysis of run `run`; a stale job (another run, a deleted video) or a
        duplicate (another attempt holds the run's lease) does nothing, and a video that
        can't be used marks the asset failed with why."""
        asset = self._claim(cid, aid, run, handed_from=handed_from)
        if asset is None:
            return
        try:
            with leases.kept(self._renewer(asset), self.lease.renew_every_s):
                found = self._find_moments(asset)
                if found is not None:
                    self._save_result(asset, *found)
        except (Conflict, NotFound):  # the asset left this run (deleted, analysed again)
            log.info("asset %s left run %s: this job stops", aid, asset.run)
            self._clean_up_if_deleted(asset)
        finally:  # rendering, failed or deleted: its analysis slot is free (not if handed over)
            quotas.release_slot(self.table, cid, aid)

    def _renewer(self, asset: Asset) -> Callable[[], bool]:
        table = self.lease_table() if self.lease_table else self.table
        cid, aid, run, attempt = asset.creator_id, asset.id, asset.run, asset.claimed_by
        return lambda: assets.renew_lease(
            table, cid, aid, run, attempt, self.clock() + self.lease.seconds
        )

    def _find_moments(self, asset: Asset) -> tuple[AnalysisResult, list[Sourced], Words] | None:
        with tempfile.TemporaryDirectory(prefix="truss-analyze-") as tmp:
            source = Path(tmp) / "source"
            self.storage.download(asset.source_key, str(source))
            try:
                probe = media.probe(source)
                quotas.charge_analysis(
                    self.table, asset, probe.duration, str(asset.run), self.quota
                )
                self._save_probe_and_thumbnail(asset, source, probe, Path(tmp))
                if self.hand_over(
                    asset.creator_id, asset.id, asset.run, probe.duration, asset.claimed_by
                ):
                    return None  # a job with a timeout that fits this long video goes on
                self._progress(asset, assets.ANALYZING, "Finding moments", 20)
                analyzer = self.analyzer_for(asset, source, probe)
                result = analyzer.analyze(source, probe, self.lengths, self.max_moments)
            except (AnalysisError, QuotaExceeded) as exc:  # media errors are analysis errors too
                spent = getattr(exc, "usage", None)
                if spent is not None:
                    self._count_usage(asset, spent)
                self._fail(asset, str(exc))
                if spent is None or not (spent.input_tokens or spent.output_tokens):
                    quotas.refund_analysis(self.table, asset, str(asset.run))  # none paid for
                return None
            ranked = self._with_chat(asset, result, source, probe)
            words, spent = self._clip_words(analyzer, source, probe, ranked)
        self._count_usage(asset, add_usage(result.usage, spent))
        self.tally.job(
            self.table, asset.creator_id, asset.id, ANALYSIS, f"analysis:{asset.id}:{asset.run}",
            {metrics.SECONDS_ANALYSED: probe.duration, metrics.ANALYSES: 1,
             metrics.S3_GET_REQUESTS: 1, metrics.S3_PUT_REQUESTS: 1},  # source, thumbnail
        )  # fmt: skip
        return result, ranked, words

    def _with_chat(
        self, asset: Asset, result: AnalysisResult, source: Path, probe: StreamInfo
    ) -> list[Sourced]:
        """The analyzer's moments, merged with the chat spikes of the video's stream."""
        cid, aid = asset.creator_id, asset.id
        if not asset.stream_id:  # linked to no stream: no chat, and no table read for it
            return [Sourced(moment) for moment in result.moments]
        lag_s, spikes = self.chat_spikes_for(cid, aid, asset.stream_id)
        if not spikes:
            return [Sourced(moment) for moment in result.moments]
        estimated = self.estimate_chat_lag(cid, aid, spikes, lambda: _loudness(source, probe))
        return chat_moments.merge(
            result.moments, spikes, lag_s if estimated is None else estimated, self.lengths,
            self.max_moments, probe.duration,
        )  # fmt: skip

    def _claim(
        self, cid: str, aid: str, run: int | None, attempt: str = "", handed_from: str = ""
    ) -> Asset | None:
        """queued → analyzing in this run, held by this attempt; a re-run of a crashed job
        of the run continues once the crashed attempt's lease lapsed."""
        attempt = attempt or leases.new_attempt()
        lease_until = int(self.clock() + self.lease.seconds)  # epoch seconds
        try:
            asset = assets.get(self.table, cid, aid)
        except NotFound:
            log.info("asset %s is gone: nothing to analyse", aid)
            return None
        run = asset.run if run is None else run  # a job queued before runs were tracked
        if asset.run != run or asset.deleting:
            log.info("asset %s is in run %s, not %s: stale job", aid, asset.run, run)
            return None
        if asset.status not in {assets.QUEUED, assets.ANALYZING}:
            log.info("asset %s is %s: nothing to analyse", aid, asset.status)
            if asset.status in {assets.RENDERING, assets.READY}:  # this run's analysis ended
                self._count_clips_made(cid, aid, asset.run)  # a crash may have skipped it
            return None
        if asset.status == assets.ANALYZING and asset.run:
            try:  # a retry of this run's job after a crash continues it
                return assets.take_over(
                    self.table, cid, aid, asset.run, attempt, lease_until, self.clock(),
                    handed_from,
                )  # fmt: skip
            except Conflict:
                log.info("asset %s run %s is held by a live attempt: duplicate job", aid, run)
                return None
        # queued (or queued before runs were tracked: it gets a run now)
        try:
            return assets.transition(
                self.table, cid, aid, asset.status, assets.ANALYZING,
                version=asset.version, expected_run=asset.run or None,
                run=asset.run or assets.next_run(asset), stage="Checking the video", progress=5,
                claimed_by=attempt, lease_until=lease_until,
            )  # fmt: skip
        except (Conflict, assets.InvalidTransition):
            return None

    def _fail(self, asset: Asset, reason: str) -> None:
        """Fail this run only: a stale or duplicate job can't fail a healthy newer run."""
        try:
            assets.fail(
                self.table, asset.creator_id, asset.id, reason,
                expected_from=assets.ANALYZING, expected_run=asset.run, holder=asset.claimed_by,
            )  # fmt: skip
        except Conflict:
            log.info("asset %s left run %s: its failure is not recorded", asset.id, asset.run)

    def _count_usage(self, asset: Asset, usage: Usage) -> None:
        assets.add_usage(
            self.table, asset.creator_id, asset.id, usage.input_tokens, usage.output_tokens
        )
        tokens = {
            metrics.GEMINI_IN_TOKENS: usage.input_tokens,
            metrics.GEMINI_OUT_TOKENS: usage.output_tokens,
        }
        event = f"tokens:{asset.id}:{asset.run}"
        self.tally.job(self.table, asset.creator_id, asset.id, ANALYSIS, event, tokens)

    def _clean_up_if_deleted(self, asset: Asset) -> None:
        """A fenced write may have left files under a video that is being deleted: remove
        them (the delete itself may already have run). A video in a newer run keeps its own."""
        try:
            current = assets.get(self.table, asset.creator_id, asset.id)
        except NotFound:
            current = None
        if current is None or current.deleting:
            self.storage.delete_prefix(keys.asset_object_prefix(asset.creator_id, asset.id))
            self._drop_own_items(asset)

    def _drop_own_items(self, asset: Asset) -> None:
        """This run's chapters and clips, by key: a delete lists clips through an eventually
        consistent index, which may not show a clip written just before the fence."""
        cid, aid = asset.creator_id, asset.id
        ids = [clips.clip_id_for(aid, asset.run, rank) for rank in range(self.max_moments)]
        for clid in ids:
            self.storage.delete_prefix(keys.clip_object_prefix(cid, clid))
        stored_chapters.delete_with_clips(self.table, cid, aid, ids)

    def _save_probe_and_thumbnail(
        self, asset: Asset, source: Path, probe: StreamInfo, tmp: Path
    ) -> None:
        thumb = tmp / "thumbnail.jpg"
        media.make_thumbnail(source, thumb, at_seconds=min(probe.duration * 0.1, 10.0))
        key = keys.asset_thumbnail_object(asset.creator_id, asset.id)
        self.storage.upload(str(thumb), key, "image/jpeg")
        self._progress(
            asset, assets.ANALYZING, "Video checked", 10,
            duration_s=round(probe.duration, 3), width=probe.width, height=probe.height,
            has_audio=probe.has_audio, thumbnail_key=key,
        )  # fmt: skip

    def _clip_words(
        self, analyzer: Analyzer, source: Path, probe: StreamInfo, ranked: list[Sourced]
    ) -> tuple[Words, Usage]:
        """Gemini's timed words for each clip window (with gemini_words and a Gemini analysis)."""
        if not self.gemini_words:
            return [None] * len(ranked), Usage()
        windows = [(found.moment.start, found.moment.end) for found in ranked]
        return gemini_words.for_windows(analyzer, source, probe.duration, windows)

    def _save_result(
        self, asset: Asset, result: AnalysisResult, ranked: list[Sourced], words: Words
    ) -> None:
        """Chapters and clips are written only while the asset is still in this run; the
        machine-made clips of earlier runs go once this run has moved the asset on."""
        cid, aid, run, holder = asset.creator_id, asset.id, asset.run, asset.claimed_by
        save_chapters(self.table, self.storage, cid, aid, result.chapters, run, holder)
        ids = [clips.clip_id_for(aid, run, rank) for rank in range(len(ranked))]
        made_by = clips.analyzer_source(result.analyzer)
        for rank, (clid, found) in enumerate(zip(ids, ranked, strict=True)):
            clips.create_from_moment(
                self.table, cid, aid, clid, found.moment, rank, run=run, holder=holder,
                source=found.source or made_by,
            )  # fmt: skip
        for clid, transcript in zip(ids, words, strict=True):
            if transcript is not None:  # before the renders, which burn them in
                transcript_store.save_for(self.table, self.storage, cid, clid, transcript)
        summary: dict[str, Any] = {
            "analyzer": result.analyzer,
            "summary": result.summary[:2000],
            "clips_total": len(ids),
            "clips_done": 0,
            "clips_failed": 0,
        }
        stage = f"Rendering {len(ids)} clips" if ids else NO_MOMENTS
        moved = assets.transition(
            self.table, cid, aid, assets.ANALYZING, assets.RENDERING,
            expected_run=run, holder=holder, remove=assets.LEASE_FIELDS,
            stage=stage, progress=40, **summary,
        )  # fmt: skip
        self._drop_clips_of_earlier_runs(cid, aid, keep=set(ids))
        made = Counter(f.source or made_by for f in ranked)
        self._tally_clips_made(cid, aid, run, made)
        if not ids:
            assets.transition(
                self.table, cid, aid, assets.RENDERING, assets.READY,
                version=moved.version, stage=NO_MOMENTS, progress=100,
            )  # fmt: skip
            return
        for clid in ids:
            self.enqueue_render(cid, clid, clips.first_render_id(run))

    def _tally_clips_made(self, cid: str, aid: str, run: int, sources: Counter[str]) -> None:
        """The clips a run made, per source; once per run."""
        made = {metrics.qualified(metrics.CLIPS_MADE, source): n for source, n in sources.items()}
        self.tally.count(cid, made, f"clips:{aid}:{run}")

    def _count_clips_made(self, cid: str, aid: str, run: int) -> None:
        """Count again, from the table, the clips an ended run made (once per run)."""
        sources = Counter(
            clip.source
            for clip in clips.for_asset(self.table, cid, aid)
            if clip.run == run and clip.source in clips.MACHINE_SOURCES
        )
        if sources:
            self._tally_clips_made(cid, aid, run, sources)

    def _drop_clips_of_earlier_runs(self, cid: str, aid: str, keep: set[str]) -> None:
        """A new analysis replaces what earlier runs found (signals, Gemini, chat; clips made
        by hand stay); a trim render still running on one of them is fenced and removes its
        own files."""
        for old in clips.for_asset(self.table, cid, aid):
            if old.source in clips.MACHINE_SOURCES and old.id not in keep:
                delete_clip(self.table, self.storage, old)

    def _progress(self, asset: Asset, status: str, stage: str, percent: int, **extra: Any) -> None:
        run = asset.run if status == assets.ANALYZING else None
        holder = asset.claimed_by if status == assets.ANALYZING else None
        assets.set_progress(
            self.table, asset.creator_id, asset.id, status, stage, percent, run, holder, **extra
        )

    # -- rendering --------------------------------------------------------------------------

    def render(self, cid: str, clid: str, render_id: str) -> None:
        """Render one clip to 9:16, the window asked for with this render id; a stale job
        (the clip moved on to another render, or is being deleted) does nothing. The new
        file replaces the old only once it is uploaded."""
        try:
            clip = clips.start_render(self.table, cid, clid, render_id)
        except Conflict:
            log.info("clip %s render %s is stale, taken or done", clid, render_id)
            self._count_if_done(cid, clid, render_id)
            return
        asset = self._video_of(clip)
        if asset is None:
            return
        try:  # files of their own: a duplicate job of this render id can't clobber them
            video_key, poster_key, layout_used = self._render_files(
                asset, clip, attempt_name(render_id)
            )
        except AnalysisError as exc:
            if clips.fail_render(self.table, cid, clid, render_id, str(exc)) is not None:
                self.count_render(cid, clip.asset_id, clid, failed=True, run=clip.run)
            return
        try:
            clips.finish_render(
                self.table, cid, clid, render_id, video_key, poster_key, clip.asset_id,
                layout_used,
            )  # fmt: skip
        except Conflict:  # fenced (deleted, re-analysed) or done by a duplicate job
            log.info("clip %s render %s fenced or done: removing its files", clid, render_id)
            for key in (video_key, poster_key):
                self.storage.delete(key)
            self._video_of(clip)  # a video deleted meanwhile takes this clip with it
            return
        for old in {clip.video_key, clip.poster_key} - {"", video_key, poster_key}:
            self.storage.delete(old)
        self._count_finished(clip, render_id, (video_key, poster_key))

    def _count_finished(self, clip: clips.Clip, render_id: str, files: tuple[str, str]) -> None:
        """A finished render's storage, daily counters and asset progress; each is once per
        render id, so a re-run after a crash midway counts only what was left."""
        cid, clid = clip.creator_id, clip.id
        nbytes = quotas.charge_render(self.table, self.storage, cid, clid, render_id, files)
        rendered = {
            metrics.RENDERS: 1, metrics.RENDER_SECONDS: clip.duration,
            metrics.S3_BYTES_STORED: nbytes, metrics.S3_PUT_REQUESTS: 2,
        }  # fmt: skip
        event = f"render:{clid}:{render_id}"
        self.tally.job(self.table, cid, clip.asset_id, RENDERS, event, rendered)
        self.count_render(cid, clip.asset_id, clid, failed=False, run=clip.run)

    def _count_if_done(self, cid: str, clid: str, render_id: str) -> None:
        """A job of a render that already ended (a retry after a crash just past its end, or
        a duplicate): count what the crash may have left uncounted."""
        try:
            clip = clips.get(self.table, cid, clid)
        except NotFound:
            return
        if clip.render_id != render_id:
            return  # stale: the clip moved on to another render
        if clip.render_status == clips.READY:
            self._count_finished(clip, render_id, (clip.video_key, clip.poster_key))
        elif clip.render_status == clips.FAILED:
            self.count_render(cid, clip.asset_id, clid, failed=True, run=clip.run)

    def _video_of(self, clip: clips.Clip) -> Asset | None:
        """The clip's video; None, after removing the clip, when the video is gone or being
        deleted (a clip its video's delete missed: the clip index lags)."""
        try:
            asset = assets.get(self.table, clip.creator_id, clip.asset_id)
        except NotFound:
            asset = None
        if asset is None or asset.deleting:
            log.info("clip %s: its video is gone, so is the clip", clip.id)
            delete_clip(self.table, self.storage, clip)
            return None
        return asset

    def _render_files(self, asset: Asset, clip: clips.Clip, render_id: str) -> tuple[str, str, str]:
        """The rendered clip's video and poster keys, and the layout it was rendered in."""
        width, height = self.render_size
        with (
            tempfile.TemporaryDirectory(prefix="truss-render-") as tmp,
            serve_object(self.storage, asset.source_key) as served,  # ranges, not the whole file
        ):
            source, out, poster = served.source, Path(tmp) / "clip.mp4", Path(tmp) / "p.jpg"
            probe = media.probe(source, duration=asset.duration_s)  # the header only
            if clip.start >= probe.duration - 0.5:
                raise AnalysisError(
                    f"This clip starts at {clip.start:.0f} s but the video is only "
                    f"{probe.duration:.0f} s long. Trim it to fit and re-render."
                )
            look = reframe.picture(
                clip.layout, source, clip.start, clip.end, probe, width, height, Path(tmp)
            )
            overlay = caption_overlay(
                clip, clip.caption_style, Path(tmp), width, height, self.storage,
                table=self.table, source=source,
            )  # fmt: skip
            media.render_vertical(
                source, out, clip.start, clip.end, probe, width, height,
                picture=look.filter, overlay=overlay, workdir=Path(tmp),
            )  # fmt: skip
            media.make_thumbnail(out, poster, at_seconds=min(1.0, clip.duration / 2))
            video_key = keys.clip_video_object(asset.creator_id, clip.id, render_id)
            poster_key = keys.clip_poster_object(asset.creator_id, clip.id, render_id)
            self.storage.upload(str(out), video_key, "video/mp4")
            self.storage.upload(str(poster), poster_key, "image/jpeg")
        return video_key, poster_key, look.layout

    def count_render(self, cid: str, aid: str, clid: str, failed: bool, run: int = 0) -> None:
        """Count a finished clip once, towards its own run; the last one moves the asset to
        ready (or failed)."""
        if not clips.count_towards_asset(self.table, cid, clid, aid, failed, run or None):
            return  # counted before, a re-render of a finished asset, or another run's clip
        asset = assets.get(self.table, cid, aid)
        done, total = asset.clips_done, asset.clips_total
        if done < total:
            stage = f"Rendered {done} of {total} clips"
            self._progress(asset, assets.RENDERING, stage, 40 + 60 * done // total)
            return
        self._finish_asset(cid, aid, asset.clips_failed, total)

    def _finish_asset(self, cid: str, aid: str, failed: int, total: int) -> None:
        try:
            if failed >= total:
                reason = f"None of the {total} clips could be rendered. Retry the analysis."
                assets.fail(self.table, cid, aid, reason, expected_from=assets.RENDERING)
                return
            stage = f"{total - failed} clips ready" + (f", {failed} failed" if failed else "")
            assets.transition(
                self.table, cid, aid, assets.RENDERING, assets.READY, stage=stage, progress=100
            )
        except Conflict:
            log.info("asset %s was finished by another job", aid)
