"""NUTS for scaling laws: robust start, sampler-friendly pivots, one compiled program per shape.

Pipeline of :func:`~scaling_bayes.inference.fit.fit` (the engine of every fitting entry point):

1. validate data, priors and settings (nothing is compiled before this passes);
2. map inputs to ``x = log(input / ref)`` and pad to a size bucket, so refits of other data sets
   of similar size reuse the compiled program;
3. find the posterior mode in unconstrained space by BFGS from many prior draws at once
   (vmapped), then a Laplace approximation around it;
4. move each power-law term's pivot ``ref`` to the scale that decorrelates its amplitude from its
   exponent (clipped to the data's range) and re-optimise;
5. run NUTS for all chains in one jitted program (warmup + draws in ``lax.scan``, chains vmapped
   or sharded over devices), initialised from Laplace draws with the Laplace covariance as the
   starting (dense) inverse mass matrix;
6. map draws to constrained and textbook parameters and pointwise log-likelihoods.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from scaling_bayes._core.env import enable_x64_on_cpu, n_devices, to_device
from scaling_bayes._core.env import load_jax as _jax
from scaling_bayes._core.errors import ScalingBayesError
from scaling_bayes._core.linalg import no_lapack, sym_eig
from scaling_bayes.data.observations import ScalingData
from scaling_bayes.inference.aot import Persistent
from scaling_bayes.laws.base import Law, is_builtin
from scaling_bayes.model.likelihoods import observation_dist
from scaling_bayes.model.numpyro_model import scaling_model
from scaling_bayes.model.priors import Prior
from scaling_bayes.model.settings import SamplerConfig


class ModeSearchError(ScalingBayesError):
    """No finite posterior density was found from any start (impossible priors or data)."""


# ----------------------------------------------------------------------------- helpers
def bucket_size(n: int) -> int:
    """Padded size: the smallest of 16 and 2^k * {1, 1.25, 1.5, 1.75} that holds ``n``."""
    size = 16
    while size < n:
        k = 2 ** math.floor(math.log2(size))
        size = next(k * f // 4 for f in (5, 6, 7, 8) if k * f // 4 > size)
    return size


def initial_ref(law: Law, data: ScalingData) -> dict[str, float]:
    """The pivot scales a fit of ``data`` starts from, per input of ``law`` (the geometric mean
    of the input, its minimum, or a fixed number, as ``law.initial_ref`` says)."""
    ref = {}
    for v in law.inputs:
        a = data.get(v)
        how = law.initial_ref.get(v, "geomean")
        if not isinstance(how, str):  # a number: a fixed reference scale (e.g. data_constrained)
            ref[v] = float(how)
            continue
        ref[v] = float(np.min(a)) if how == "min" else float(np.exp(np.mean(np.log(a))))
    return ref


def _spmd(fn):
    """``fn`` with the leading (data-set) axis of every argument and result split across the
    default backend's devices (``jax.shard_map`` over a 1-D mesh), when there are several and
    they divide it; otherwise ``fn`` itself. Each device then runs its own slice of the vmapped
    program independently (no lock-step between devices). Applied at trace time, so one
    program object serves every batch size."""

    def wrapped(*args):
        jax = _jax()
        n = jax.local_device_count()
        leaves = jax.tree_util.tree_leaves(args)
        B = leaves[0].shape[0] if leaves and np.ndim(leaves[0]) else 1
        if n == 1 or B % n:
            return fn(*args)
        from jax.sharding import PartitionSpec

        mesh = jax.make_mesh((n,), ("fits",), axis_types=(jax.sharding.AxisType.Auto,),
                             devices=jax.local_devices())
        spec = PartitionSpec("fits")
        with no_lapack(jax.default_backend() == "cpu"):  # LAPACK can deadlock here: _linalg
            return jax.shard_map(fn, mesh=mesh, in_specs=spec, out_specs=spec,
                                 check_vma=False)(*args)

    return wrapped


# ----------------------------------------------------------------------------- program
class _Program:
    """Compiled pieces for one model and padded size: reused across fits.

    By default the model is :func:`~scaling_bayes.model.numpyro_model.scaling_model` of ``law`` (one value per
    sampler site). Any other NumPyro model with the same call signature
    ``model(x, ref, y, mask)`` can be given (the hierarchical model does this), with

    * ``priors``: every latent sample site and its (scalar) prior, whose support sets the
      unconstraining transform and whose draws seed the mode search;
    * ``shapes``: the shape of each site (default ``()``), e.g. ``(n_groups,)`` inside a plate;
    * ``mean``: ``mean(params, x) -> mu``, the expected log-loss of every row from constrained
      (and deterministic) sites, for the pointwise log-likelihood (default:
      ``law.sampler_log_loss``);
    * ``cache_key``: a string that determines the model completely (with the package's code),
      under which its traced programs may be stored on disk (:mod:`scaling_bayes.inference.aot`);
      ``None`` (a user's own law or model) never stores them.
    """

    def __init__(self, law: Law, priors: Mapping[str, Prior], likelihood: str, nu: float,
                 n_pad: int, *, model: Callable | None = None,
                 shapes: Mapping[str, tuple[int, ...]] | None = None,
                 mean: Callable | None = None, cache_key: str | None = None):
        jax = _jax()
        import jax.numpy as jnp
        from jax.flatten_util import ravel_pytree
        from numpyro.distributions import biject_to
        from numpyro.infer.util import get_potential_fn

        self.law, self.priors, self.likelihood, self.nu, self.n_pad = (
            law, dict(priors), likelihood, nu, n_pad)
        self.model = model or functools.partial(
            scaling_model, law=law, priors=self.priors, likelihood=likelihood, nu=nu)
        mean = mean or law.sampler_log_loss
        self.site_order = sorted(self.priors)
        self.shapes = {k: tuple((shapes or {}).get(k, ())) for k in self.site_order}
        self.supports = {k: self.priors[k].to_numpyro().support for k in self.site_order}
        inv = {k: biject_to(self.supports[k]) for k in self.site_order}
        self.pe_gen, self.post_gen = get_potential_fn(
            self.model, inv, replay_model=True, dynamic_args=True)
        flat0, self.unravel = ravel_pytree(
            {k: jnp.zeros(self.shapes[k]) for k in self.site_order})
        self.dim = int(flat0.shape[0])

        def flat_potential(v, args):
            return self.pe_gen(*args)(self.unravel(v))

        def optimize(starts, args, screen):
            # Saddle-free damped Newton: step along -|H|^-1 g, try 12 step lengths at once and
            # keep the best (no inner while loop: compiles fast, vmaps over starts). All starts
            # take NEWTON_SCREEN steps; the NEWTON_KEEP best of them go on to NEWTON_ITERS.
            f = functools.partial(flat_potential, args=args)
            grad, hess = jax.grad(f), jax.hessian(f)
            ts = 2.0 ** -jnp.arange(12.0)

            def safe(v):
                fv = f(v)
                return jnp.where(jnp.isfinite(fv), fv, jnp.inf)

            def newton(v0, fv0, length):
                def body(carry, _):
                    v, fv = carry
                    g, H = grad(v), hess(v)
                    w, U = sym_eig(H)  # Jacobi rotations in device-split CPU programs
                    w = jnp.maximum(jnp.abs(w), 1e-6 * jnp.maximum(1.0, jnp.max(jnp.abs(w))))
                    p = -U @ ((U.T @ g) / w)
                    p = jnp.where(jnp.all(jnp.isfinite(p)), p, -g)
                    p = p * jnp.minimum(1.0, 5.0 / (jnp.linalg.norm(p) + 1e-30))
                    fc = jax.vmap(safe)(v[None, :] + ts[:, None] * p[None, :])
                    j = jnp.argmin(fc)
                    better = fc[j] < fv
                    return (jnp.where(better, v + ts[j] * p, v), jnp.where(better, fc[j], fv)), None

                (v, fv), _ = jax.lax.scan(body, (v0, fv0), None, length=length)
                return v, fv

            if not screen or starts.shape[0] <= NEWTON_KEEP:
                v, fv = jax.vmap(lambda v0: newton(v0, safe(v0), NEWTON_ITERS))(starts)
                return v, fv, jax.vmap(hess)(v)
            v, fv = jax.vmap(lambda v0: newton(v0, safe(v0), NEWTON_SCREEN))(starts)
            keep = jnp.argsort(fv)[:NEWTON_KEEP]
            v, fv = v[keep], fv[keep]
            v, fv = jax.vmap(lambda a, b: newton(a, b, NEWTON_ITERS - NEWTON_SCREEN))(v, fv)
            return v, fv, jax.vmap(hess)(v)

        def optimize_batch(starts, args, screen):  # (B, S, d)
            return jax.vmap(functools.partial(optimize, screen=screen))(starts, args)

        def postprocess(Z, args):
            """Constrained + deterministic sites and pointwise log-likelihood of flat draws."""
            x, ref, y, mask = args
            post = self.post_gen(*args)

            def one(v):
                p = post(self.unravel(v))
                mu = mean(p, x)
                ll = observation_dist(mu, p["sigma"], likelihood, nu).log_prob(y)
                return p, ll

            return jax.vmap(one)(Z)

        def constrain(Z, args):
            post = self.post_gen(*args)
            return jax.vmap(lambda v: post(self.unravel(v)))(Z)

        # Every program is batched over data sets (leading axis B of starts/draws and args).
        self.cache_key = cache_key
        self._persist = lambda fn, name, static=(): Persistent(fn, name, cache_key, static)
        self._optimize = {
            screen: self._persist(jax.jit(_spmd(functools.partial(optimize_batch, screen=screen))),
                                  "optimize_screen" if screen else "optimize")
            for screen in (False, True)}
        self.postprocess = self._persist(jax.jit(_spmd(jax.vmap(postprocess))), "postprocess")
        self.constrain = self._persist(jax.jit(_spmd(jax.vmap(constrain))), "constrain")
        self._kernels: dict = {}

    def optimize(self, starts, args, work: int | None = None):
        """Damped-Newton mode search from ``starts`` (``(B, S, d)``): ``(points, values,
        Hessians)``. Starts are screened (see :data:`NEWTON_SCREEN`) when ``work`` (default
        ``B * S * n_pad`` of this call; a batch split across processes passes its total) reaches
        :data:`SCREEN_MIN_WORK`."""
        if work is None:
            work = int(np.shape(starts)[0]) * int(np.shape(starts)[1]) * self.n_pad
        return self._optimize[bool(work >= SCREEN_MIN_WORK)](starts, args)

    def prior_starts(self, key, k: int):
        """``k`` prior draws in unconstrained space, flattened in the mass-matrix order."""
        return self._starts(key, k)

    def prior_starts_batch(self, keys, k: int):
        """``(B, k, d)`` prior draws, one batch per key."""
        return self._starts_batch(keys, k)

    @functools.cached_property
    def _starts_batch(self):
        jax = _jax()
        def batch(keys, k):
            return _spmd(lambda kk: jax.vmap(self._starts.fn, in_axes=(0, None))(kk, k))(keys)

        return self._persist(jax.jit(batch, static_argnums=1), "starts_batch", (1,))

    @functools.cached_property
    def _starts(self):
        jax = _jax()
        import jax.numpy as jnp
        from numpyro.distributions import biject_to

        def draw(key, k):
            keys = jax.random.split(key, len(self.site_order))
            cols = []
            for kk, name in zip(keys, self.site_order, strict=True):
                d = self.priors[name].to_numpyro()
                u = biject_to(d.support).inv(d.sample(kk, (k, *self.shapes[name])))
                cols.append(u.reshape(k, -1))  # ravel_pytree order: sorted sites, row-major
            return jnp.concatenate(cols, axis=-1)

        return self._persist(jax.jit(draw, static_argnums=1), "starts", (1,))

    def kernels(self, warmup: int, target_accept: float, max_tree_depth: int, dense_mass: bool):
        """Jitted ``(init, chunk)`` for these NUTS settings (built once, then reused).

        NUTS runs in whitened coordinates ``w``, with ``z = shift + chol @ w`` (``shift`` the
        posterior mode, ``chol`` the Cholesky factor of the Laplace covariance, both passed per
        data set as extra model arguments), so the posterior the sampler sees has roughly unit
        scales and no linear correlations. This matters beyond a good starting mass matrix:
        NumPyro regularises every adapted mass matrix towards ``1e-3 * I``, which in the raw
        coordinates (posterior sds ~ 0.01, strong correlations) distorts it enough to shrink the
        step size about four-fold and lengthen every trajectory accordingly.

        ``init(keys, init_w, shift, chol, inv_mass, args)`` starts all chains (vmapped);
        raw coordinates are the case ``shift = 0``, ``chol = I`` (``Law.whiten = False``);
        ``chunk(state, args_w, length)`` advances them ``length`` iterations in a ``lax.scan``
        and returns the draws already mapped back to ``z``.
        Warmup and sampling run the same compiled chunk (the kernel adapts while
        ``i < warmup``), and Python drives the chunks, which gives a progress bar without host
        callbacks (programs with callbacks cannot go to the persistent compilation cache).
        """
        key = (warmup, float(target_accept), max_tree_depth, dense_mass)
        if key not in self._kernels:
            self._kernels[key] = self._build_kernels(*key)
        return self._kernels[key]

    def _pe_whitened(self, x, ref, y, mask, shift, chol):
        pe = self.pe_gen(x, ref, y, mask)
        return lambda w: pe(self.unravel(shift + chol @ w))

    def _build_kernels(self, warmup, target_accept, max_tree_depth, dense_mass):
        jax = _jax()
        import jax.numpy as jnp
        from numpyro.infer.hmc import hmc

        # The potential is regenerated from model_args at every step (potential_fn_gen), so
        # init and chunk may be separate programs; only static settings live in the closure.
        init_kernel, sample_kernel = hmc(potential_fn_gen=self._pe_whitened, algo="NUTS")
        def init_one_dataset(key, init_w, shift, chol, inv_mass, args):
            mass = inv_mass if dense_mass else jnp.diag(inv_mass)

            def one(w, k):
                return init_kernel(
                    w, warmup, inverse_mass_matrix=mass, dense_mass=dense_mass,
                    target_accept_prob=target_accept, max_tree_depth=max_tree_depth,
                    model_args=(*args, shift, chol), rng_key=k)

            return jax.vmap(one)(init_w, jax.random.split(key, init_w.shape[0]))

        traced_init = []

        def init(keys, init_w, shift, chol, inv_mass, args):  # (B,) (B,C,d) (B,d) (B,d,d)x2
            traced_init.append(True)
            return _spmd(jax.vmap(init_one_dataset))(keys, init_w, shift, chol, inv_mass, args)

        def chunk(state, args_w, length):
            if not traced_init:
                # NumPyro's sample kernel reads settings that its init kernel stores in a shared
                # closure when traced; when init came from disk (_aot) it was not traced here.
                B = state.z.shape[0]
                spec = jax.ShapeDtypeStruct
                jax.eval_shape(init, spec((B, 2), jnp.uint32), spec(state.z.shape, state.z.dtype),
                               *args_w[-2:], args_w[-1], args_w[:-2])
            def step_dataset(s, a):  # all chains of one data set
                s = jax.vmap(lambda si: sample_kernel(si, model_args=a))(s)
                return s, a[-2] + s.z @ a[-1].T  # draws back in z coordinates

            step = jax.vmap(step_dataset)

            def run(state, args_w):
                def body(s, _):
                    s, z = step(s, args_w)
                    return s, (z, s.diverging, s.num_steps, s.accept_prob,
                               s.potential_energy, s.energy, s.adapt_state.step_size)

                state, out = jax.lax.scan(body, state, None, length=length)
                # draws axis first from scan: put data sets first for the device split
                return state, jax.tree_util.tree_map(lambda a: jnp.moveaxis(a, 0, 1), out)

            def grouped(state, args_w):
                # A vmapped NUTS step runs every lane (chain) until the longest trajectory of
                # the batch ends: with hundreds of lanes nearly every iteration pays for some
                # lane's 2^6-2^7 leapfrog steps while the mean is ~10. So data sets run in
                # small vmapped groups, one group after another (lax.map) inside the program.
                Bl, C = state.z.shape[:2]
                G = _group_size(Bl, C)
                if G == Bl:
                    return run(state, args_w)
                rs = lambda a: a.reshape(Bl // G, G, *a.shape[1:])  # noqa: E731
                un = lambda a: a.reshape(Bl, *a.shape[2:])  # noqa: E731
                st, out = jax.lax.map(lambda sa: run(*sa),
                                      (jax.tree_util.tree_map(rs, state),
                                       jax.tree_util.tree_map(rs, args_w)))
                return jax.tree_util.tree_map(un, st), jax.tree_util.tree_map(un, out)

            return _spmd(grouped)(state, args_w)

        settings = f"{warmup}_{target_accept!r}_{max_tree_depth}_{int(dense_mass)}"
        init_j = self._persist(jax.jit(init), f"nuts_init-{settings}")
        chunk_j = self._persist(jax.jit(chunk, static_argnums=2), f"nuts_chunk-{settings}", (2,))
        return init_j, chunk_j

    def sample(self, keys, init_z, cov, args, *, center, warmup, draws, target_accept,
               max_tree_depth, dense_mass, whiten=True, progress=None):
        """Run NUTS for B data sets x C chains, whitened around ``center`` (``(B, d)``) by the
        covariances ``cov`` (``(B, d, d)``), or with ``whiten=False`` in the raw coordinates
        with ``cov`` as the starting inverse mass matrix; returns arrays shaped
        (B, chains, draws, ...)."""
        jax = _jax()
        import jax.numpy as jnp

        init, chunk = self.kernels(warmup, target_accept, max_tree_depth, dense_mass)
        total = warmup + draws
        length = chunk_length(warmup, draws)
        B, d = center.shape
        if whiten:
            chol = np.linalg.cholesky(cov + 1e-12 * np.eye(d))
            dz = (init_z - center[:, None, :])[..., None]
            init_w = np.linalg.solve(chol[:, None], dz)[..., 0]
            inv_mass = np.broadcast_to(np.eye(d), (B, d, d))
        else:
            chol, init_w, inv_mass = np.broadcast_to(np.eye(d), (B, d, d)), init_z, cov
            center = np.zeros_like(center)
        shift, chol = to_device(center), to_device(chol)
        state = init(keys, to_device(init_w), shift, chol, to_device(inv_mass), args)
        args_w = (*args, shift, chol)
        pieces, done = [], 0
        while done < total:
            state, out = chunk(state, args_w, length)
            done += length
            if done > warmup:
                pieces.append(out)
            if progress is not None:
                jax.block_until_ready(state.i)
                progress(done, total)
        trace = [np.concatenate([np.asarray(p[j]) for p in pieces], axis=1)[:, -draws:]
                 for j in range(len(pieces[0]))]
        # (B, iterations, chains, ...) -> (B, chains, draws, ...)
        return [np.moveaxis(a, 1, 2) for a in trace]


#: Mode search: every start takes NEWTON_SCREEN damped-Newton steps, then the NEWTON_KEEP best
#: continue to NEWTON_ITERS steps in all (a third of the cost of running every start to the end;
#: on 40 Chinchilla resamples of 50 rows 94% of the starts were at the best mode by step 30).
#: The screen doubles the optimiser's program (two loops: ~+3 s of XLA compilation), so it is
#: used only when starts x rows (x data sets) reach SCREEN_MIN_WORK: not for one fit of a few
#: hundred rows (32 x 256), where the whole search takes ~0.1 s.
NEWTON_SCREEN, NEWTON_KEEP, NEWTON_ITERS = 15, 4, 60
SCREEN_MIN_WORK = 2**16

#: Chains that step in lock-step within one vmapped group (see ``_Program._build_kernels``);
#: measured on 40 Chinchilla resamples of 50 rows, 4 chains (sampling s, second call, 1 core):
#: all 40 data sets in one group 12.4; groups of 8 data sets 6.5, of 4 5.0, of 2 4.7, of 1 5.9.
LOCKSTEP_LANES = 8


def _group_size(B: int, chains: int) -> int:
    """Data sets per vmapped group: the largest divisor of ``B`` with at most
    :data:`LOCKSTEP_LANES` chains in total (at least one data set)."""
    cap = max(1, LOCKSTEP_LANES // max(1, chains))
    return max(g for g in range(1, min(B, cap) + 1) if B % g == 0)


def chunk_length(warmup: int, draws: int) -> int:
    """Largest divisor of gcd(warmup, draws) giving at least ~20 chunks."""
    g = math.gcd(warmup, draws)
    cap = max(1, (warmup + draws) // 20)
    return max(d for d in range(1, min(g, cap) + 1) if g % d == 0)


@functools.lru_cache(maxsize=32)
def _program(law: Law, priors_key: str, likelihood: str, nu: float, n_pad: int) -> _Program:
    priors = {k: Prior.parse(v) for k, v in json.loads(priors_key).items()}
    cache_key = (json.dumps(["scaling_model", law.name, priors_key, likelihood, nu, n_pad])
                 if is_builtin(law) else None)
    return _Program(law, priors, likelihood, nu, n_pad, cache_key=cache_key)


def get_program(law: Law, priors: Mapping[str, Prior], likelihood: str, nu: float,
                n_pad: int) -> _Program:
    key = json.dumps({k: str(v) for k, v in sorted(priors.items())})
    return _program(law, key, likelihood, float(nu), int(n_pad))


# ----------------------------------------------------------------------------- steps
def model_args(law: Law, datas, refs, n_pad: int):
    """Padded, stacked model arguments ``(x, ref, y, mask)`` for a list of data sets."""
    import jax.numpy as jnp

    B = len(datas)
    x = {v: np.zeros((B, n_pad)) for v in law.inputs}
    y = np.zeros((B, n_pad))
    mask = np.zeros((B, n_pad), dtype=bool)
    for b, (data, ref) in enumerate(zip(datas, refs, strict=True)):
        n = data.n
        for v in law.inputs:
            x[v][b, :n] = np.log(data.get(v)) - math.log(ref[v])
        y[b, :n] = np.log(data.loss)
        mask[b, :n] = True
    ref_arr = {v: to_device([float(r[v]) for r in refs]) for v in law.inputs}
    return ({v: to_device(a) for v, a in x.items()}, ref_arr, to_device(y), to_device(mask))


def posterior_modes(prog: _Program, args, keys, n_starts: int, names, extra=None,
                    batch: int | None = None):
    """Per data set: best of ``n_starts`` Newton runs from prior draws (plus the points
    ``extra``, ``(B, d)``, when given), and the Laplace covariance there. ``batch``: the number
    of data sets of the whole batch when this call is one process's share of it (the screening
    decision is the batch's)."""
    starts = prog.prior_starts_batch(keys, n_starts)
    if extra is not None:
        starts = np.concatenate([np.asarray(extra)[:, None, :], np.asarray(starts)], axis=1)
    S = int(np.shape(starts)[1])
    xs, fs, Hs = prog.optimize(starts, args,
                               None if batch is None else batch * S * prog.n_pad)
    fs = np.asarray(fs)
    fs = np.where(np.isfinite(fs), fs, np.inf)
    failed = np.flatnonzero(~np.isfinite(fs).any(axis=1))
    if failed.size:
        raise ModeSearchError(
            f"data set {names[failed[0]]!r}: the posterior mode search failed from every start "
            "(non-finite log density); check the priors and the scale of the losses")
    best = np.argmin(fs, axis=1)
    idx = np.arange(len(best))
    modes = np.asarray(xs)[idx, best]
    covs = _laplace_cov(np.asarray(Hs, dtype=float)[idx, best])
    return modes, covs


def _laplace_cov(H: np.ndarray) -> np.ndarray:
    """Inverse of (batched) Hessians with eigenvalues floored, as a covariance."""
    H = 0.5 * (H + np.swapaxes(H, -1, -2))
    ok = np.all(np.isfinite(H), axis=(-1, -2))
    H = np.where(ok[:, None, None], H, np.eye(H.shape[-1]) * 100.0)
    w, U = np.linalg.eigh(H)
    floor = 1e-8 * np.maximum(1.0, np.max(np.abs(w), axis=-1, keepdims=True))
    w = np.maximum(w, floor)
    return np.einsum("bij,bj,bkj->bik", U, 1.0 / w, U)


def mvn_draws(key, mean, cov, k):
    """``k`` draws from N(mean_b, cov_b) per data set: (B, k, d). ``key``: one key for the
    batch, or one per data set (``(B, 2)``: each data set's draws then depend on its key only,
    not on the rest of the batch)."""
    jax = _jax()
    d = mean.shape[-1]
    L = np.linalg.cholesky(cov + 1e-12 * np.eye(d))
    if np.ndim(key) == 2:
        eps = np.asarray(jax.vmap(lambda kk: jax.random.normal(kk, (k, d)))(key))
    else:
        eps = np.asarray(jax.random.normal(key, (mean.shape[0], k, d)))
    return mean[:, None, :] + np.einsum("bkd,bed->bke", eps, L)


def choose_pivots(law: Law, datas, prog: _Program, args, refs, modes, covs, key):
    """Move each pivot to its decorrelating scale, clipped to the data's range."""
    if not law.pivots:
        return [dict(r) for r in refs]
    draws = prog.constrain(mvn_draws(key, modes, covs, 2000), args)
    new = [dict(r) for r in refs]
    for p in law.pivots:
        a, e = np.asarray(draws[p.amp]), np.asarray(draws[p.exponent])  # (B, M)
        ac, ec = a - a.mean(axis=1, keepdims=True), e - e.mean(axis=1, keepdims=True)
        var = np.mean(ec * ec, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            delta = np.mean(ac * ec, axis=1) / var
        for b, data in enumerate(datas):
            if np.isfinite(delta[b]) and var[b] > 0:
                values = data.get(p.input)
                moved = refs[b][p.input] * math.exp(float(np.clip(delta[b], -700, 700)))
                new[b][p.input] = float(np.clip(moved, np.min(values), np.max(values)))
    return new


def simulate_prior(law: Law, data: ScalingData, priors, *, likelihood: str, nu: float,
                   ref: Mapping[str, float], n: int, seed: int) -> tuple[dict, dict]:
    """``n`` draws from the prior (predictive) at ``data``'s design with pivots ``ref``.

    Returns ``(sims, x)``: sampled sites (``(n,)`` each) and simulated ``log_loss`` (``(n, rows)``),
    and the inputs ``x = log(input / ref)`` (``(rows,)`` each).
    """
    jax = _jax()
    from numpyro.infer import Predictive

    enable_x64_on_cpu()
    n_pad = bucket_size(data.n)
    prog = get_program(law, priors, likelihood, float(nu), n_pad)
    x, r, _, mask = model_args(law, [data], [ref], n_pad)
    one = lambda a: a[0]  # noqa: E731
    sims = Predictive(prog.model, num_samples=n)(
        jax.random.PRNGKey(seed), jax.tree_util.tree_map(one, x),
        jax.tree_util.tree_map(one, r), None, one(mask))
    sims = {k: np.asarray(v) for k, v in sims.items()}
    sims["log_loss"] = sims["log_loss"][:, : data.n]
    return sims, {v: np.asarray(x[v][0, : data.n]) for v in law.inputs}


@dataclass
class _Run:
    """Everything the sampler produced for B data sets."""

    program: _Program
    args: Any
    refs: list
    posterior: dict
    sample_stats: dict
    flat_draws: np.ndarray
    modes: list
    timings: dict


def run_batch(law: Law, datas, priors, config: SamplerConfig, *, names, ref=None,
              progress=None, log_likelihood=True, index=None, n_pad: int | None = None,
              batch: int | None = None) -> tuple[_Run, np.ndarray | None]:
    """The shared engine of :func:`fit` and :func:`~scaling_bayes.inference.many.fit_many`.

    ``index`` (one integer per data set): the data sets' positions in the whole batch. With
    it, every random choice of data set ``b`` comes from ``fold_in(key, index[b])``, so its
    draws do not depend on which other data sets share the call (a batch split across
    processes gives the draws of one process); ``n_pad`` and ``batch`` (the whole batch's
    padded size and number of data sets) then keep every shape-dependent choice the batch's.
    Without ``index`` the keys are split from one key per step (the single fit's streams)."""
    t_start = time.perf_counter()
    enable_x64_on_cpu()
    jax = _jax()
    B = len(datas)
    batch = B if batch is None else int(batch)
    # several devices (GPUs, or host devices on CPU): pad the data sets to a multiple of them,
    # so that every batched program splits across all of them (_spmd); the copies are dropped
    n_dev = n_devices()
    extra = (-B) % n_dev if (n_dev > 1 and B > 1) else 0
    datas, names = [*datas, *[datas[-1]] * extra], [*names, *[names[-1]] * extra]
    if index is not None:
        index = np.asarray(index, dtype=np.int64)
        index = np.concatenate([index, np.full(extra, index[-1] if index.size else 0)])
    B += extra
    n_pad = bucket_size(max(d.n for d in datas)) if n_pad is None else int(n_pad)
    prog = get_program(law, priors, config.likelihood, config.nu, n_pad)
    # keys unpacked on the host: unpacking a device array would run (and load) one more
    # compiled program per process
    k_start, k_pivot, k_start2, k_init, k_nuts = np.asarray(jax.random.split(
        jax.random.PRNGKey(config.seed), 5))
    if index is None:
        per = lambda k: jax.random.split(k, B)  # noqa: E731
        one = lambda k: k  # noqa: E731
    else:
        idx = jax.numpy.asarray(index, dtype=jax.numpy.uint32)
        per = lambda k: jax.vmap(jax.random.fold_in, in_axes=(None, 0))(k, idx)  # noqa: E731
        one = per

    refs0 = [{**initial_ref(law, d), **(dict(ref) if ref else {})} for d in datas]
    args = model_args(law, datas, refs0, n_pad)
    modes, covs = posterior_modes(prog, args, per(k_start), config.n_starts, names,
                                  batch=batch)
    refs = refs0 if ref else choose_pivots(law, datas, prog, args, refs0, modes, covs,
                                           one(k_pivot))
    if refs != refs0:
        args = model_args(law, datas, refs, n_pad)
        # After the pivot move the old mode is a close start. A batch (fit_many) then needs
        # only a quarter of the fresh starts: the search is a large part of its cost. A single
        # fit keeps them all (and its compiled programs: one start count, one program).
        k2 = config.n_starts if batch == 1 else max(2, config.n_starts // 4)
        modes, covs = posterior_modes(prog, args, per(k_start2), k2, names,
                                      extra=None if batch == 1 else modes, batch=batch)
    run, ll = sample_program(prog, args, refs, modes, covs, config, one(k_init),
                             per(k_nuts) if index is not None else k_nuts,
                             progress=progress, log_likelihood=log_likelihood, t_start=t_start)
    return (_first(run, B - extra), None if ll is None else ll[: B - extra]) if extra else (run, ll)


def _first(run: _Run, k: int) -> _Run:
    """The first ``k`` data sets of a batch run (drops device padding)."""
    import dataclasses

    jax = _jax()
    return dataclasses.replace(
        run, args=jax.tree_util.tree_map(lambda a: a[:k], run.args), refs=run.refs[:k],
        posterior={n: v[:k] for n, v in run.posterior.items()},
        sample_stats={n: v[:k] for n, v in run.sample_stats.items()},
        flat_draws=run.flat_draws[:k], modes=run.modes[:k])


def sample_program(prog: _Program, args, refs, modes, covs, config: SamplerConfig, k_init,
                   k_nuts, *, progress=None, log_likelihood=True, whiten: bool = True,
                   t_start: float | None = None) -> tuple[_Run, np.ndarray | None]:
    """NUTS from Laplace draws around ``modes`` (``(B, d)``, covariances ``covs``) for B data
    sets, then constrained draws, NUTS statistics and pointwise log-likelihoods. NUTS runs in
    Laplace-whitened coordinates when ``whiten`` and the law allow it (``Law.whiten``)."""
    jax = _jax()
    t_init = time.perf_counter()
    t_start = t_init if t_start is None else t_start
    B = modes.shape[0]
    n_pad = prog.n_pad
    init_z = mvn_draws(k_init, modes, covs, config.chains)
    nuts_keys = k_nuts if np.ndim(k_nuts) == 2 else jax.random.split(k_nuts, B)
    Z, diverging, n_steps, accept, pe, energy, step_size = prog.sample(
        nuts_keys, init_z, covs, args, center=modes, warmup=config.warmup,
        draws=config.draws, target_accept=float(config.target_accept),
        max_tree_depth=config.max_tree_depth, dense_mass=config.dense_mass,
        whiten=whiten and prog.law.whiten, progress=progress)
    t_sample = time.perf_counter()

    shape = Z.shape[:3]  # (B, chains, draws)
    flat = Z.reshape(B, -1, prog.dim)
    if log_likelihood:
        post, ll = prog.postprocess(flat, args)
        ll = np.asarray(ll).reshape(shape + (n_pad,))
    else:
        post, ll = prog.constrain(flat, args), None
    post = {k: np.asarray(v).reshape(shape + np.shape(v)[2:]) for k, v in post.items()}
    stats = {
        "diverging": diverging.astype(bool),
        "n_steps": n_steps.astype(np.int64),
        "tree_depth": np.ceil(np.log2(n_steps.astype(float) + 1)).astype(np.int64),
        "acceptance_rate": accept,
        "lp": -pe,
        "energy": energy,
        "step_size": step_size,
    }
    mode_c = prog.constrain(modes[:, None, :], args)
    modes_out = [{k: _scalar_or_list(np.asarray(v)[b, 0]) for k, v in mode_c.items()}
                 for b in range(B)]
    t_end = time.perf_counter()
    timings = {"init_s": t_init - t_start, "sample_s": t_sample - t_init,
               "postprocess_s": t_end - t_sample, "total_s": t_end - t_start, "n_pad": n_pad}
    return _Run(prog, args, refs, post, stats, flat, modes_out, timings), ll


def _scalar_or_list(a: np.ndarray):
    return float(a) if a.ndim == 0 else a.astype(float).tolist()
