"""Shared helpers of the benchmark scripts (machine description, data, JSON output, summaries).

Every benchmark script writes one JSON file under ``benchmarks/results/`` with the measurements
it actually made; ``make_table.py`` renders ``benchmarks/README.md`` from those files only.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
#: Where results go: ``benchmarks/results`` unless ``SB_BENCH_RESULTS`` names another folder
#: (``gpu.sh`` writes the GPU run to ``benchmarks/results/gpu``).
RESULTS = Path(os.environ.get("SB_BENCH_RESULTS") or HERE / "results")
REPO = HERE.parent

#: Parameters whose posterior (or bootstrap) medians and 90% intervals are compared.
AGREEMENT_PARAMS = ("alpha", "beta", "E", "a")
TEXTBOOK = ("E", "A", "B", "alpha", "beta")


def _meminfo_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(mod: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(mod)
    except Exception:
        return None


def machine_info() -> dict:
    """CPU model, cores, RAM, load and package versions of the machine running the benchmark."""
    try:
        load = list(os.getloadavg())
    except OSError:
        load = None
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gib": _meminfo_gib(),
        "loadavg_1_5_15": load,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {m: _version(m) for m in ("jax", "jaxlib", "numpyro", "numpy", "scipy",
                                               "arviz", "pymc", "scaling_bayes")},
    }


def accelerator_info() -> dict:
    """JAX's default backend and its devices (``cpu`` unless a GPU build of JAX found one)."""
    try:
        import jax

        devs = jax.devices()
        return {"backend": jax.default_backend(), "devices": [str(d.device_kind) for d in devs]}
    except Exception as e:  # JAX not importable here: say so, do not fail the benchmark
        return {"backend": None, "error": str(e)[:200]}


def write_result(name: str, payload: dict, *, quick: bool, started: float) -> Path:
    """Write ``results/<name>.json`` with the machine description and run metadata."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {
        "benchmark": name,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "argv": sys.argv,
        "quick": bool(quick),
        "script_wall_s": time.perf_counter() - started,
        "machine": {**machine_info(), "accelerator": accelerator_info()},
        **payload,
    }
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=2, default=_jsonable) + "\n")
    tmp.replace(path)
    print(f"wrote {path}")
    return path


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


def chinchilla_arrays(drop_excluded: bool = True):
    """Epoch's Chinchilla points (240 rows with the 5 excluded points dropped): N, D, loss."""
    from scaling_bayes.data.datasets import load_dataset

    df = load_dataset("chinchilla", drop_excluded=drop_excluded)
    return (df["N"].to_numpy(float), df["D"].to_numpy(float), df["loss"].to_numpy(float))


def quantiles(draws: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Median and 90% central interval of alpha, beta, E and a = beta/(alpha+beta)."""
    d = {k: np.asarray(v, dtype=float).reshape(-1) for k, v in draws.items()}
    if "a" not in d and "alpha" in d and "beta" in d:
        d["a"] = d["beta"] / (d["alpha"] + d["beta"])
    out = {}
    for k in AGREEMENT_PARAMS:
        if k in d:
            v = d[k][np.isfinite(d[k])]
            q5, q50, q95 = np.quantile(v, [0.05, 0.5, 0.95])
            out[k] = {"q5": float(q5), "median": float(q50), "q95": float(q95)}
    return out


def min_ess_bulk(chain_draws: dict[str, np.ndarray], names=TEXTBOOK) -> dict:
    """Bulk ESS (scaling_bayes.posterior.diagnostics.ess_bulk on (chain, draw) arrays) per parameter."""
    from scaling_bayes.posterior.diagnostics import ess_bulk, rhat

    ess = {k: float(ess_bulk(np.asarray(chain_draws[k], dtype=float))) for k in names}
    rh = {k: float(rhat(np.asarray(chain_draws[k], dtype=float))) for k in names}
    worst = min(ess, key=ess.get)
    return {"ess_bulk": ess, "min_ess_bulk": ess[worst], "min_ess_param": worst,
            "rhat": rh, "max_rhat": max(rh.values())}


def run_timed(cmd: list[str], env: dict | None = None, cwd: Path | None = None,
              timeout: float | None = None) -> dict:
    """Run a command, return wall time, exit code and the tails of its output."""
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t0
    return {"cmd": cmd, "wall_s": wall, "rc": p.returncode, "stdout_tail": p.stdout[-2000:],
            "stderr_tail": p.stderr[-2000:]}


def process_age_s() -> float | None:
    """Seconds since this process started (``/proc/self/stat``), interpreter start-up included:
    what a user timing ``python script.py`` sees; ``None`` where /proc is missing."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        start = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - start
    except (OSError, ValueError, IndexError):
        return None


def run_timed_cpu(cmd: list[str], env: dict | None = None, cwd: Path | None = None,
                  timeout: float | None = None) -> dict:
    """:func:`run_timed` plus the child's CPU time (user + sys, ``resource.getrusage``): the
    figure to compare when other load on a shared machine inflates wall times."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = run_timed(cmd, env=env, cwd=cwd, timeout=timeout)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    r["cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return r


def python_exe() -> str:
    return sys.executable


def add_quick(parser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="label the results as a reduced-size run (set by run_all --quick)")
