"""Shared by the benchmark's parts: memory readings and running a part in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path("/tmp/truss-bench")
MB = 1024 * 1024


def status_kb(field: str, pid: int | str = "self") -> int:
    """A `kB` line of /proc/<pid>/status (VmRSS, VmHWM ...), 0 when the process is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as lines:
            for line in lines:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def reset_peak_rss() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux `clear_refs` 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process we can see."""
    found: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name may hold spaces: fields after the last ')' are fixed
        found[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def tree_rss_kb(root: int) -> int:
    """Summed VmRSS of a process and all its descendants, right now."""
    parents = _parents()
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        kids = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(kids)
        frontier.extend(kids)
    return sum(status_kb("VmRSS", pid) for pid in tree)


def run_part(module: str, *args: str, timeout: float = 900) -> dict[str, Any]:
    """Run `python -m bench.<module> args` in a fresh process; its JSON (last stdout line),
    plus `tree_peak_mb`: the largest summed RSS of it and its children, sampled every 50 ms."""
    cmd = [sys.executable, "-m", f"bench.{module}", *args]
    child = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0

    def sample() -> None:
        nonlocal peak
        while child.poll() is None:
            peak = max(peak, tree_rss_kb(child.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise
    sampler.join()
    if child.returncode != 0:
        sys.stderr.write(err.decode(errors="replace"))
        raise RuntimeError(f"bench part {module} {' '.join(args)} failed ({child.returncode})")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    result["tree_peak_mb"] = peak / 1024
    return result


def emit(result: dict[str, Any]) -> None:
    """A part's result for run_part (one JSON line on stdout)."""
    print(json.dumps(result), flush=True)
