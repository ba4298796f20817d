"""The analysis pipeline: check the video, make a thumbnail, find moments, fan out renders.

analyze(asset):  queued → analyzing → rendering (one render job per clip) → ready
render(clip):    pending → rendering → ready | failed; the asset is ready when every clip
                 has been counted once (a re-run job never counts twice).

Collaborators (table, storage, analyzer, the render enqueuer) are arguments, so tests can
pass fakes; `truss.jobs` builds the real ones.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from truss import media
from truss.analysis.base import AnalysisError, AnalysisResult, Analyzer, ClipLengths, StreamInfo
from truss.data import assets, clips, keys
from truss.data.assets import Asset
from truss.data.table import Conflict, Table
from truss.range_source import serve_object
from truss.services.chapters import save_chapters
from truss.services.clips import delete_clip
from truss.storage import Storage

log = logging.getLogger(__name__)

AnalyzerFactory = Callable[[Asset, Path, StreamInfo], Analyzer]
EnqueueRender = Callable[[str, str, str], object]
NO_MOMENTS = "No clip-worthy moment found in this video."


@dataclass
class Pipeline:
    table: Table
    storage: Storage
    analyzer_for: AnalyzerFactory
    enqueue_render: EnqueueRender
    lengths: ClipLengths = field(default_factory=ClipLengths)
    max_moments: int = 8
    render_size: tuple[int, int] = (720, 1280)

    # -- analysis ---------------------------------------------------------------------------

    def analyze(self, cid: str, aid: str) -> None:
        """Run one analysis; a video that can't be used marks the asset failed with why."""
        asset = self._claim(cid, aid)
        if asset is None:
            return
        with tempfile.TemporaryDirectory(prefix="truss-analyze-") as tmp:
            source = Path(tmp) / "source"
            self.storage.download(asset.source_key, str(source))
            try:
                probe = media.probe(source)
                self._save_probe_and_thumbnail(asset, source, probe, Path(tmp))
                self._progress(asset, assets.ANALYZING, "Finding moments", 20)
                result = self.analyzer_for(asset, source, probe).analyze(
                    source, probe, self.lengths, self.max_moments
                )
            except AnalysisError as exc:  # media errors are analysis errors too
                assets.fail(self.table, cid, aid, str(exc), expected_from=assets.ANALYZING)
                return
        self._save_result(asset, result)

    def _claim(self, cid: str, aid: str) -> Asset | None:
        """queued → analyzing; a re-run of a crashed job continues where it is."""
        asset = assets.get(self.table, cid, aid)
        if asset.status == assets.ANALYZING:
            return asset
        if asset.status != assets.QUEUED:
            log.info("asset %s is %s: nothing to analyse", aid, asset.status)
            return None
        try:
            return assets.transition(
                self.table, cid, aid, assets.QUEUED, assets.ANALYZING,
                version=asset.version, stage="Checking the video", progress=5,
                run_started_ms=int(time.time() * 1000),
            )  # fmt: skip
        except Conflict:
            return None

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

    def _save_result(self, asset: Asset, result: AnalysisResult) -> None:
        cid, aid = asset.creator_id, asset.id
        save_chapters(self.table, self.storage, asset.creator_id, asset.id, result.chapters)
        run = int(self.table.get(keys.asset(cid, aid)).get("run_started_ms", 0))
        ids = [clips.clip_id_for(aid, run, rank) for rank in range(len(result.moments))]
        self._drop_clips_of_earlier_runs(cid, aid, keep=set(ids))
        for rank, (clid, moment) in enumerate(zip(ids, result.moments, strict=True)):
            clips.create_from_moment(self.table, cid, aid, clid, moment, rank)
        usage = result.usage
        summary: dict[str, Any] = {
            "analyzer": result.analyzer,
            "summary": result.summary[:2000],
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "clips_total": len(ids),
            "clips_done": 0,
            "clips_failed": 0,
        }
        if not ids:
            moved = assets.transition(
                self.table, cid, aid, assets.ANALYZING, assets.RENDERING, **summary
            )
            assets.transition(
                self.table, cid, aid, assets.RENDERING, assets.READY,
                version=moved.version, stage=NO_MOMENTS, progress=100,
            )  # fmt: skip
            return
        stage = f"Rendering {len(ids)} clips"
        assets.transition(
            self.table, cid, aid, assets.ANALYZING, assets.RENDERING,
            stage=stage, progress=40, **summary,
        )  # fmt: skip
        for clid in ids:
            self.enqueue_render(cid, clid, f"r{run}")

    def _drop_clips_of_earlier_runs(self, cid: str, aid: str, keep: set[str]) -> None:
        """A retried analysis replaces what an earlier run found (clips made by hand stay)."""
        for old in clips.for_asset(self.table, cid, aid):
            if old.source == "analyzer" and old.id not in keep:
                delete_clip(self.table, self.storage, old)

    def _progress(self, asset: Asset, status: str, stage: str, percent: int, **extra: Any) -> None:
        assets.set_progress(self.table, asset.creator_id, asset.id, status, stage, percent, **extra)

    # -- rendering --------------------------------------------------------------------------

    def render(self, cid: str, clid: str, render_id: str) -> None:
        """Render one clip to 9:16; the new file replaces the old only once it is uploaded."""
        clip = clips.get(self.table, cid, clid)
        try:
            clips.start_render(self.table, cid, clid, render_id)
        except Conflict:
            log.info("clip %s render %s already taken or done", clid, render_id)
            return
        asset = assets.get(self.table, cid, clip.asset_id)
        try:
            video_key, poster_key = self._render_files(asset, clip, render_id)
        except AnalysisError as exc:
            clips.fail_render(self.table, cid, clid, render_id, str(exc))
            self.count_render(cid, clip.asset_id, clid, failed=True)
            return
        clips.finish_render(self.table, cid, clid, render_id, video_key, poster_key)
        for old in {clip.video_key, clip.poster_key} - {"", video_key, poster_key}:
            self.storage.delete(old)
        self.count_render(cid, clip.asset_id, clid, failed=False)

    def _render_files(self, asset: Asset, clip: clips.Clip, render_id: str) -> tuple[str, str]:
        width, height = self.render_size
        with (
            tempfile.TemporaryDirectory(prefix="truss-render-") as tmp,
            serve_object(self.storage, asset.source_key) as served,  # ranges, not the whole file
        ):
            source, out, poster = served.source, Path(tmp) / "clip.mp4", Path(tmp) / "p.jpg"
            probe = media.probe(source)
            if clip.start >= probe.duration - 0.5:
                raise AnalysisError(
                    f"This clip starts at {clip.start:.0f} s but the video is only "
                    f"{probe.duration:.0f} s long. Trim it to fit and re-render."
                )
            media.render_vertical(source, out, clip.start, clip.end, probe, width, height)
            media.make_thumbnail(out, poster, at_seconds=min(1.0, clip.duration / 2))
            video_key = keys.clip_video_object(asset.creator_id, clip.id, render_id)
            poster_key = keys.clip_poster_object(asset.creator_id, clip.id, render_id)
            self.storage.upload(str(out), video_key, "video/mp4")
            self.storage.upload(str(poster), poster_key, "image/jpeg")
        return video_key, poster_key

    def count_render(self, cid: str, aid: str, clid: str, failed: bool) -> None:
        """Count a finished clip once; the last one moves the asset to ready (or failed)."""
        if not clips.count_towards_asset(self.table, cid, clid, aid, failed):
            return  # counted before, or a re-render of a finished asset
        item = self.table.get(keys.asset(cid, aid))
        done, total = int(item["clips_done"]), int(item.get("clips_total", 0))
        if done < total:
            stage = f"Rendered {done} of {total} clips"
            self._progress(
                assets.Asset.from_item(item), assets.RENDERING, stage, 40 + 60 * done // total
            )
            return
        self._finish_asset(cid, aid, int(item.get("clips_failed", 0)), total)

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
