"""The machine a benchmark ran on, medians of repeated timings, and peak memory.

Every benchmark table is written with the :func:`machine_info` of the run that made it: CPU model, cores
usable by this process, memory, load average (the benchmark machine may be shared, so timings are noisy),
torch threads and the versions of the libraries that do the work. Timings are medians of ``repeats`` runs
(:func:`median_time`); memory is the tracemalloc peak of Python and numpy allocations in this process
(:func:`traced_peak`) or the maximum resident set size of a child process (:func:`run_command`, from
``os.wait4``'s rusage, which covers everything the process touched, torch included).
"""

from __future__ import annotations

import gc
import importlib
import os
import platform
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

LIBRARIES = ("wq", "torch", "numpy", "pandas", "sklearn", "pywt", "scipy", "statsforecast")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _version(name: str) -> str:
    try:
        module = importlib.import_module(name)
    except ImportError:
        return "not installed"
    return str(getattr(module, "__version__", "unknown"))


def _git_commit() -> str:
    repo = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def load_average() -> tuple[float, float, float] | None:
    """The 1, 5 and 15 minute load averages (None where the OS does not tell)."""
    try:
        return tuple(round(v, 2) for v in os.getloadavg())  # type: ignore[return-value]
    except OSError:
        return None


def machine_info(libraries: Sequence[str] = LIBRARIES) -> dict[str, Any]:
    """A flat, JSON-serialisable description of this machine and software, for every results table."""
    import torch

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    load = load_average()
    info: dict[str, Any] = {
        "time": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "host_cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_gib": _memory_gib(),
        "load_average_1_5_15": None if load is None else " ".join(f"{v:.2f}" for v in load),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "torch_threads": torch.get_num_threads(),
        "torch_mkldnn": bool(torch.backends.mkldnn.is_available()),
        "git_commit": _git_commit(),
    }
    info.update({f"version_{name}": _version(name) for name in libraries})
    return info


def median_time(fn: Callable[[], Any], repeats: int = 3, warmup: int = 1) -> tuple[float, list[float]]:
    """Median wall time (``time.perf_counter``) of ``repeats`` calls of ``fn`` after ``warmup`` untimed calls;
    returns ``(median, all times)``."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), times


def traced_peak(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated through Python's allocator and numpy (both report to tracemalloc) while ``fn``
    runs, above what was allocated before. Torch's CPU allocator is not traced: use :func:`run_command`."""
    gc.collect()
    started = tracemalloc.is_tracing()
    if not started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not started:
            tracemalloc.stop()
    return int(max(0, peak - base))


@dataclass
class CommandResult:
    """Wall seconds, peak resident memory (bytes) and exit status of one child process."""

    seconds: float
    maxrss: int
    returncode: int
    stderr: str


# Runs in a small interpreter between us and the measured command. A child's peak RSS (ru_maxrss) starts at
# the RSS of the process it was forked from (Linux keeps the high-water mark across exec), so forking the command
# from this benchmark process, which holds torch, statsforecast and data, would report our size, not its own.
_LAUNCHER = r"""
import json, os, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
code = os.waitstatus_to_exitcode(status)
with open(out, "w") as f:
    json.dump({"seconds": time.perf_counter() - t0, "maxrss": usage.ru_maxrss, "returncode": code}, f)
sys.exit(0)
"""


def run_command(args: Sequence[str], cwd: str | os.PathLike | None = None, env: dict | None = None,
                timeout: float | None = None) -> CommandResult:
    """Run ``args`` as a child process: its wall time and its own peak resident set size in bytes (rusage from
    ``os.wait4`` in a small launcher process, see ``_LAUNCHER``). At ``timeout`` seconds the whole process group
    is killed and the result has return code -9."""
    import json
    import signal
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        errpath = Path(tmp) / "stderr.txt"
        t0 = time.perf_counter()
        with open(errpath, "w") as errf:
            proc = subprocess.Popen([sys.executable, "-S", "-c", _LAUNCHER, str(result), *args], cwd=cwd, env=env,
                                    stdout=subprocess.DEVNULL, stderr=errf, start_new_session=True)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        seconds = time.perf_counter() - t0
        err = errpath.read_text(errors="replace")[-2000:]
        if not result.exists():
            return CommandResult(seconds, 0, -9 if timeout is not None and seconds >= timeout else proc.returncode,
                                 err)
        data = json.loads(result.read_text())
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, kilobytes on Linux
    return CommandResult(float(data["seconds"]), int(data["maxrss"]) * scale, int(data["returncode"]), err)


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope b of log10 y = a + b log10 x: cost grows like x**b (1 linear, 2 quadratic).
    NaN with fewer than two positive points."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log10(x[ok]), np.log10(y[ok]), 1)[0])
