"""Compiled programs that outlive the process: the persistent caches behind a fast cold start.

A fit runs a handful of jitted programs (mode search, NUTS init, NUTS chunk, postprocessing).
In a fresh process each costs three things before it runs: *tracing* the Python (NumPyro's NUTS
alone takes ~2.5 s), *lowering* to StableHLO, and *compiling* with XLA. JAX's persistent
compilation cache removes only the last. This module removes the first two as well: the first
process exports each program with :mod:`jax.export` (StableHLO plus its calling convention) and
writes it to ``<cache>/exported/``; later processes deserialize it (milliseconds) and compile it
through the compilation cache (a cache read).

A program is only stored when it is fully described by its key: built-in laws (their code is
hashed into the key, with the jax/jaxlib/numpyro versions, backend and dtype mode), never a law
defined in the user's session. Any failure to read or write the cache falls back to ordinary
tracing; a corrupt file is re-exported and replaced atomically.

:func:`enable_cache` turns both caches on (the CLI does this; library users may call it).
``SCALING_BAYES_CACHE_DIR`` sets the directory (default ``~/.cache/scaling_bayes/jax``), and
``off`` disables caching.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import threading
from pathlib import Path

_DIR: Path | None = None
_OFF = ("off", "0", "none", "false")

#: Programs exported to / loaded from disk in this process (benchmarks and tests read it).
stats = {"exported": 0, "loaded": 0}

#: Held while a :class:`Persistent` program traces or loads for a new signature: tracing runs
#: NumPyro's effect handlers, whose stack is one global list, so two threads (a fit and its
#: background backtests) must not trace at the same time. Compiled programs run unlocked.
TRACE_LOCK = threading.RLock()


def cache_dir_from_env() -> Path | None:
    """The cache directory ``SCALING_BAYES_CACHE_DIR`` asks for (``None`` when disabled)."""
    where = os.environ.get("SCALING_BAYES_CACHE_DIR", "")
    if where.lower() in _OFF:
        return None
    return Path(where) if where else Path.home() / ".cache" / "scaling_bayes" / "jax"


def enable_cache(path: str | os.PathLike | None = None) -> Path | None:
    """Persist compiled and exported programs under ``path`` (default: from the environment).

    Returns the directory in use, or ``None`` when caching is disabled or the directory cannot
    be created (then everything still works, only slower to start).
    """
    global _DIR
    where = Path(path) if path is not None else cache_dir_from_env()
    if where is None:
        return None
    try:
        (where / "exported").mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    import jax

    jax.config.update("jax_compilation_cache_dir", str(where))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    _DIR = where
    return where


def set_export_dir(path: str | os.PathLike | None) -> None:
    """Read and write exported programs under ``path/exported`` (``None``: stop), leaving
    JAX's compilation cache as it is (tests, benchmarks)."""
    global _DIR
    _DIR = None
    if path is not None:
        (Path(path) / "exported").mkdir(parents=True, exist_ok=True)
        _DIR = Path(path)


def export_dir() -> Path | None:
    """The directory exported programs go to in this process (``None``: not stored)."""
    return None if _DIR is None else _DIR / "exported"


@functools.lru_cache(maxsize=1)
def _environment_hash() -> str:
    """Everything outside a program's key that changes what tracing would produce."""
    import jax
    import jaxlib
    import numpyro

    h = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]  # the whole scaling_bayes package
    for f in sorted(root.rglob("*.py")):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    h.update(repr((jax.__version__, jaxlib.__version__, numpyro.__version__,
                   jax.default_backend(), jax.config.jax_enable_x64,
                   jax.device_count())).encode())
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def _register_pytrees() -> None:
    """Let the NUTS state (NumPyro namedtuples) cross the serialization boundary."""
    from jax import export
    from numpyro.infer.hmc import HMCState
    from numpyro.infer.hmc_util import HMCAdaptState

    for t in (HMCState, HMCAdaptState):
        try:
            export.register_namedtuple_serialization(
                t, serialized_name=f"{t.__module__}.{t.__name__}")
        except ValueError:  # already registered (e.g. by another library)
            pass


def _leaf_sig(leaf) -> tuple:
    import numpy as np

    dtype = getattr(leaf, "dtype", None)
    return (tuple(np.shape(leaf)), str(dtype) if dtype is not None else type(leaf).__name__,
            bool(getattr(getattr(leaf, "aval", None), "weak_type", False)))


class Persistent:
    """A jitted function whose traced program is stored on disk under ``name`` and ``key``.

    ``fn`` must be a ``jax.jit`` function (with its ``static_argnums``). ``key`` is a string that
    with the argument shapes determines the program completely, or ``None`` to never store it.
    Calls are cached in memory per signature, so the disk is read at most once per process.
    """

    def __init__(self, fn, name: str, key: str | None, static_argnums: tuple[int, ...] = ()):
        self.fn, self.name, self.key, self.static = fn, name, key, tuple(static_argnums)
        self._calls: dict = {}

    def __call__(self, *args):
        import jax

        dyn = tuple(a for i, a in enumerate(args) if i not in self.static)
        static = tuple(args[i] for i in self.static)
        leaves, treedef = jax.tree_util.tree_flatten(dyn)
        sig = repr((self.name, self.key, static, str(treedef),
                    tuple(_leaf_sig(x) for x in leaves)))
        stored = self.key is not None and _DIR is not None
        call = self._calls.get((stored, sig))
        if call is not None:
            return call(*dyn)
        # First call of a signature: it traces (NumPyro's effect-handler stack is one global
        # list, so two threads must never trace at once; see TRACE_LOCK) and compiles. An
        # exported program is traced under the lock and compiled outside it (its call traces
        # only the deserialized module), so two threads compile at the same time.
        with TRACE_LOCK:
            call = self._calls.get((stored, sig))
            if call is None:
                call = self._load_or_export(sig, args) if stored else None
                if call is not None:
                    self._calls[(stored, sig)] = call
                else:  # plain jit: it traces at its first call, which runs under the lock
                    call = lambda *d: self.fn(*_merge(args, d, self.static))  # noqa: E731
                    out = call(*dyn)
                    self._calls[(stored, sig)] = call
                    return out
        return call(*dyn)

    def _load_or_export(self, sig: str, args):
        import jax
        from jax import export

        _register_pytrees()
        digest = hashlib.sha256((sig + _environment_hash()).encode()).hexdigest()[:40]
        path = _DIR / "exported" / f"{self.name}-{digest}.jaxexport"
        exp = None
        try:
            exp = export.deserialize(bytearray(path.read_bytes()))
            stats["loaded"] += 1
        except FileNotFoundError:
            pass
        except Exception:  # corrupt or from an incompatible writer: export again
            exp = None
        if exp is None:
            try:
                exp = export.export(self.fn)(*args)
                _atomic_write(path, exp.serialize())
                stats["exported"] += 1
            except Exception:  # not exportable or not writable: plain jit, nothing stored
                return None
        return jax.jit(exp.call)


def _merge(args, dyn, static):
    it = iter(dyn)
    return tuple(a if i in static else next(it) for i, a in enumerate(args))


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
