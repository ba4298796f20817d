"""The follow path's rules on made-up subject positions (no video): the dead zone absorbs
wobble, a move is one eased pan that ends on the subject, a cut is a jump, the window never
leaves the picture; split needs two speakers; the sendcmd lines move crop's x per frame."""

from __future__ import annotations

import random
from itertools import pairwise
from pathlib import Path

import numpy as np

from truss.analysis.base import StreamInfo
from truss.reframe import layouts, path
from truss.reframe.detect import Box
from truss.reframe.filters import path_commands, picture_filter
from truss.reframe.plan import Analysis, Plan, _motion_centre, plan

CROP, WIDTH = 404, 1280
TIMES = [i / 4 for i in range(40)]  # 10 s sampled 4 a second
FPS = 30


def frames(route: path.CropPath, seconds: float = 10.0) -> list[float]:
    return [route.centre_at(i / FPS) for i in range(int(seconds * FPS))]


def test_wobble_inside_the_dead_zone_never_moves_the_window() -> None:
    wobble = random.Random(7)
    limit = path.DEAD_ZONE * CROP * 0.9
    targets: list[float | None] = [500 + wobble.uniform(-limit, limit) for _ in TIMES]
    route = path.follow(targets, TIMES, [], 10.0, CROP, WIDTH)
    assert len({round(x, 6) for x in frames(route)}) == 1  # one still window
    assert path.jitter(targets) > 0 and path.jitter(frames(route)) == 0


def test_a_move_is_one_eased_pan_that_ends_on_the_subject() -> None:
    targets: list[float | None] = [300.0 if t < 4 else 900.0 for t in TIMES]
    route = path.follow(targets, TIMES, [], 10.0, CROP, WIDTH)
    xs = frames(route)
    steps = [b - a for a, b in pairwise(xs)]
    moving = [i for i, step in enumerate(steps) if step > 1e-6]
    assert all(step >= -1e-9 for step in steps)  # never back
    assert (moving[-1] - moving[0] + 1) / FPS >= path.MIN_PAN_S  # a pan, not a jump
    first, middle = steps[moving[0]], max(steps)
    assert first < middle / 4  # eased in
    assert abs(xs[-1] - 900) < 1


def test_a_cut_jumps_and_empty_shots_hold_the_nearest_position() -> None:
    targets: list[float | None] = [None if t < 1 else 300.0 for t in TIMES[:20]]
    targets += [900.0] * 20
    route = path.follow(targets, TIMES, [5.0], 10.0, CROP, WIDTH)
    assert route.centre_at(0.0) == 300  # before the first sighting: the nearest one
    assert route.centre_at(4.99) == 300 and route.centre_at(5.0) == 900


def test_the_window_never_leaves_the_picture() -> None:
    targets: list[float | None] = [10.0 if t < 5 else 1275.0 for t in TIMES]
    route = path.follow(targets, TIMES, [], 10.0, CROP, WIDTH)
    lefts = [route.left_at(i / FPS) for i in range(10 * FPS)]
    assert min(lefts) == 0 and max(lefts) == WIDTH - CROP
    assert all(left % 2 == 0 for left in lefts)


def analysis(faces: list[list[Box]]) -> Analysis:
    times = [i / 4 for i in range(len(faces))]
    return Analysis(times, faces, [None] * len(faces), [], WIDTH, 720, len(faces) / 4)


def test_split_needs_two_speakers_and_follows_one() -> None:
    left, right = Box(200, 200, 120, 120), Box(950, 220, 110, 110)
    two = plan(layouts.SPLIT, analysis([[left, right]] * 8), 720, 1280)
    assert two.layout == layouts.SPLIT and two.speakers[0].cx < two.speakers[1].cx
    one = plan(layouts.SPLIT, analysis([[left]] * 8), 720, 1280)
    assert one.layout == layouts.FOLLOW and "fewer than two" in one.note


def test_auto_is_fit_without_faces_and_follow_with_them() -> None:
    assert plan(layouts.AUTO, analysis([[]] * 8), 720, 1280).layout == layouts.FIT
    some = [[Box(600, 200, 100, 100)]] * 3 + [[]] * 5  # faces in 3 of 8 frames
    assert plan(layouts.AUTO, analysis(some), 720, 1280).layout == layouts.FOLLOW


def test_sendcmd_sets_crop_x_only_where_it_moves(tmp_path: Path) -> None:
    targets: list[float | None] = [300.0 if t < 4 else 900.0 for t in TIMES]
    route = path.follow(targets, TIMES, [], 10.0, CROP, WIDTH)
    chosen = Plan(layouts.FOLLOW, crop_w=CROP, path=route)
    lines = path_commands(chosen, FPS).splitlines()
    assert lines[0] == "0.0000 crop x 98;"  # 300 - 404/2, even
    assert lines[-1].endswith(f"crop x {900 - CROP // 2};")
    times = [float(line.split()[0]) for line in lines]
    assert times == sorted(times) and 1 < len(lines) < 3 * FPS  # only during the pan
    info = StreamInfo(duration=10.0, width=WIDTH, height=720, fps=FPS, has_audio=False)
    text = picture_filter(chosen, info, 720, 1280, tmp_path)
    assert text.startswith("sendcmd=f=crop_path.cmd,crop=404:ih:98:0,scale=720:1280")
    assert (tmp_path / "crop_path.cmd").read_text().splitlines() == lines


def test_a_shot_without_faces_follows_its_motion() -> None:
    still = np.full((180, 320), 90, np.uint8)
    moved = still.copy()
    moved[60:120, 250:290] = 230  # something moves on the right
    centre = _motion_centre(still, moved, window=CROP / 4)
    assert centre is not None and 250 <= centre <= 290
    assert _motion_centre(still, still.copy(), window=CROP / 4) is None  # nothing moves

    found = Analysis(TIMES, [[]] * 40, [None, *([900.0] * 39)], [], WIDTH, 720, 10.0)
    route = plan(layouts.FOLLOW, found, 720, 1280).path
    assert route is not None and route.centre_at(5.0) == 900
