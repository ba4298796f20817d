"""The chat import job's binning: bounded by the file's messages, not by its last offset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from truss.streams import jobs
from truss.streams.chat_import import ChatImportError
from truss.streams.model import ChatMessage, SecondBin
from truss.streams.spikes import find_spikes


def test_bins_are_the_seconds_with_chat_not_every_second_to_the_last() -> None:
    binner = jobs.SecondBinner()
    for offset in (3.5, 100.2, 100.7, 500_000.0):
        binner.add(ChatMessage(f"m{offset}", offset, "a", "a", "hi"))
    assert [b.second for b in binner.bins()] == [0, 3, 100, 500_000]


def test_sparse_bins_find_the_same_spikes_as_every_second() -> None:
    binner = jobs.SecondBinner()
    quiet = [s for s in range(40, 400) if s % 7 == 0]
    for second in quiet:
        binner.add(ChatMessage(f"q{second}", second + 0.1, f"u{second}", "u", "hi"))
        if second == 301:
            break
    for n in range(300):
        binner.add(ChatMessage(f"b{n}", 301 + n / 60, f"v{n}", "v", "KEKW KEKW"))
    for second in quiet[quiet.index(308) :]:
        binner.add(ChatMessage(f"q{second}", second + 0.1, f"u{second}", "u", "hi"))
    sparse = binner.bins()
    by_second = {b.second: b for b in sparse}
    dense = [by_second.get(s, SecondBin(s, 0, 0, 0.0)) for s in range(max(by_second) + 1)]
    assert find_spikes(sparse) == find_spikes(dense) != []


@pytest.mark.parametrize("offset", ["NaN", 1e8])
def test_a_hostile_offset_fails_the_import_with_a_message(tmp_path: Path, offset: object) -> None:
    path = tmp_path / "chat.json"
    messages = [
        {"message": "hi", "message_id": "a", "time_in_seconds": 1.0},
        {"message": "hi", "message_id": "b", "time_in_seconds": offset},
    ]
    path.write_text(json.dumps(messages))
    with pytest.raises(ChatImportError, match="export the chat again"):
        jobs.detect(str(path))
