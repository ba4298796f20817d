"""`truss dev` supervision: the demo chat channel is optional, its port follows what is free."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from truss.dev import StackSettings, free_port, stopped_children


def test_a_taken_fake_twitch_port_is_swapped_for_a_free_one_that_truss_chat_reads(
    tmp_path: Path,
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        moved = free_port(port)
        assert moved not in (port, 0)
        with socket.create_server(("127.0.0.1", moved)):  # really free
            pass
    assert free_port(port) == port  # once let go, the configured port is used
    env = StackSettings(tmp_path, fake_twitch_port=moved).child_env()
    assert env["TWITCH_IRC_PORT"] == str(moved)


def test_the_fake_twitch_channel_stopping_is_not_fatal_but_a_worker_stopping_is() -> None:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        done.wait(timeout=30)
        children = {"web": running, "fake-twitch": done}
        assert stopped_children(children) == ([], ["fake-twitch"])
        assert stopped_children({"web": running, "worker": done}) == (["worker"], [])
    finally:
        running.kill()
        running.wait()
