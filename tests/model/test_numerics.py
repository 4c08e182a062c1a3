"""Numerical safety of every registered law over the whole range of plausible sweeps.

Data: N and D log-uniform over 1e3 ... 1e15 (so C = 6ND spans ~6e6 ... 6e30), losses
log-uniform over 0.05 ... 20 nats/token. For every law in the registry, with x64 on:

* the potential energy (negative log density in unconstrained space, ``prog.pe_gen``) and its
  gradient are finite at many prior draws (``prog.prior_starts``), and at points far out in the
  unconstrained space (every coordinate in [-15, 15]), all vmapped (no Python loop over points);
* ``law.log_loss`` at textbook parameters (conftest.TRUTH) is finite and a float over that range;
* float32: x64 cannot be switched off for a single test in this process (JAX fixes it at
  start-up, and other tests turn it on), so instead ``law.sampler_log_loss`` and
  ``law.log_loss`` are evaluated with explicitly float32 parameters and inputs (x = log(input/ref)
  computed in float64 then cast, as a float32 accelerator would see it). They must stay float32,
  be finite, and agree with the float64 result to ~1e-4 in log-loss.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from conftest import TRUTH

from scaling_bayes.data.observations import load_data
from scaling_bayes.evaluation.examples import EXAMPLE_TRUTH
from scaling_bayes.inference import engine as inference
from scaling_bayes.laws import LAWS as REGISTRY
from scaling_bayes.model.priors import resolve_priors

jax.config.update("jax_enable_x64", True)

LAWS = list(REGISTRY.laws())
SHAPE = {"shape_slope": 0.04, "shape_curv": 0.008}
TRUTH = {**TRUTH, "chinchilla_shape": {**TRUTH["chinchilla"], **SHAPE},
         "kaplan_shape": {**TRUTH["kaplan"], **SHAPE},
         # published values (Muennighoff 2023; Kaplan 2020 §5) and a Gadre-like one
         "data_constrained": {"E": 1.87, "A": 521.0, "B": 1488.0, "alpha": 0.3527,
                              "beta": 0.3527, "R_D_star": 15.4, "R_N_star": 5.3},
         "overtraining": {"E": 1.69, "a": 60.0, "b": 60.0, "eta": 0.15},
         "kaplan_learning_curve": {"N_c": 6.5e13, "alpha_N": 0.077, "S_c": 2.1e3,
                                   "alpha_S": 0.76},
         # lr_annealing (issue 17): near its OLMo-ladder posterior
         "lr_annealing": {"E": 1.3, "A": 58.0, "alpha_N": 0.17, "B": 0.7, "alpha_S": 0.5,
                          "C": 0.04, "gamma": -0.1}}
TRUTH = {**TRUTH, **EXAMPLE_TRUTH}  # bnsl1/2, transfer, downstream_error, routed_moe
N_ROWS = 64  # a bucket size: n_pad == N_ROWS
N_POINTS = 512


def sweep(n: int = N_ROWS, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(3, 15, n)
    D = 10 ** rng.uniform(3, 15, n)
    # hit the corners of the box exactly
    N[:4] = [1e3, 1e3, 1e15, 1e15]
    D[:4] = [1e3, 1e15, 1e3, 1e15]
    loss = np.exp(rng.uniform(np.log(0.05), np.log(20.0), n))
    loss[:2] = [0.05, 20.0]
    # aspect ratio d_model/n_layers over its real range, corners included (shape laws)
    aspect = 10 ** rng.uniform(0, 3, n)
    aspect[:4] = [1.0, 1e3, 1e3, 1.0]
    # unique tokens U <= D (1 to 1e4 epochs) and optimizer steps 1 to 1e6 (U, S laws)
    U = D / 10 ** rng.uniform(0, 4, n)
    S = 10 ** rng.uniform(0, 6, n)
    # training-distribution loss like the losses, and 1 to 1e4 experts (covariate laws)
    L_train = np.exp(rng.uniform(np.log(0.05), np.log(20.0), n))
    L_train[:2] = [20.0, 0.05]
    experts = 10 ** rng.uniform(0, 4, n)
    experts[:4] = [1.0, 1e4, 1.0, 1e4]
    # schedule areas of the lr_annealing law: S1 = sum of lr (1e-3 to 1e3 lr x steps), S2 its
    # annealing area (1e-4 to 2: a full cosine to 10% at lr 1e-3 with momentum 0.999 is ~0.9)
    S1 = 10 ** rng.uniform(-3, 3, n)
    S2 = 10 ** rng.uniform(-4, np.log10(2.0), n)
    return pd.DataFrame({"N": N, "D": D, "loss": loss, "aspect": aspect, "U": U, "S": S,
                         "L_train": L_train, "experts": experts, "S1": S1, "S2": S2})


def _single_args(law, data, ref, n_pad):
    """Model args ``(x, ref, y, mask)`` of one data set (model_args may batch over data sets)."""
    try:
        args = inference.model_args(law, [data], [ref], n_pad)
        batched = True
    except (TypeError, AttributeError):  # older signature: one data set
        args = inference.model_args(law, data, ref, n_pad)
        batched = False
    if batched:
        args = jax.tree_util.tree_map(lambda a: a[0], args)
    return args


@pytest.fixture(scope="module")
def data():
    d = load_data(sweep())
    assert np.all(np.isfinite(d.C)) and d.C.max() > 1e30
    return d


@pytest.mark.parametrize("likelihood", ["student_t", "normal"])
@pytest.mark.parametrize("law", LAWS, ids=lambda law: law.name)
def test_potential_and_gradient_finite(law, likelihood, data):
    n_pad = inference.bucket_size(data.n)
    assert n_pad == data.n
    prog = inference.get_program(law, resolve_priors(law), likelihood, 4.0, n_pad)
    ref = inference.initial_ref(law, data)
    args = _single_args(law, data, ref, n_pad)
    assert set(args[0]) == set(law.inputs)

    def pe(v, a):
        return prog.pe_gen(*a)(prog.unravel(v))

    # one compiled program per (law, likelihood): the data and pivots are arguments
    value_and_grad = jax.jit(jax.vmap(jax.value_and_grad(pe), in_axes=(0, None)))

    z_prior = np.asarray(prog.prior_starts(jax.random.PRNGKey(1), N_POINTS))
    assert z_prior.shape == (N_POINTS, prog.dim) and np.all(np.isfinite(z_prior))
    z_far = np.asarray(jax.random.uniform(jax.random.PRNGKey(2), (N_POINTS, prog.dim),
                                          minval=-15.0, maxval=15.0, dtype=jnp.float64))
    # pivots at the start value and at the edges of the data (choose_pivots clips to them)
    refs = {"initial": ref}
    for edge in ("min", "max"):
        refs[edge] = {v: float(getattr(np, edge)(data.get(v))) for v in law.inputs}
    for ref_name, r in refs.items():
        a = args if ref_name == "initial" else _single_args(law, data, r, n_pad)
        for name, z in (("prior draws", z_prior), ("far points", z_far)):
            f, g = (np.asarray(t) for t in value_and_grad(jnp.asarray(z), a))
            assert f.dtype == np.float64
            bad = np.flatnonzero(~np.isfinite(f) | ~np.all(np.isfinite(g), axis=1))
            assert bad.size == 0, (
                f"{law.name}/{likelihood}, {ref_name} pivot: non-finite potential or gradient "
                f"at {bad.size} of {len(z)} {name}, e.g. "
                f"z={dict(zip(prog.site_order, z[bad[0]], strict=True))}")


def _x(law, data, ref, dtype):
    return {v: jnp.asarray(np.log(data.get(v)) - np.log(ref[v]), dtype=dtype)
            for v in law.inputs}


@pytest.mark.parametrize("law", LAWS, ids=lambda law: law.name)
def test_textbook_log_loss_finite_over_range(law, data):
    theta = {k: jnp.float64(v) for k, v in TRUTH[law.name].items()}
    raw = {v: jnp.asarray(data.get(v)) for v in law.inputs}
    out = np.asarray(law.log_loss(theta, raw))
    assert out.shape == (data.n,) and out.dtype == np.float64
    assert np.all(np.isfinite(out))
    # the same law, textbook and sampler faces, float32 only
    theta32 = {k: jnp.float32(v) for k, v in TRUTH[law.name].items()}
    raw32 = {v: jnp.asarray(data.get(v), dtype=jnp.float32) for v in law.inputs}
    out32 = np.asarray(law.log_loss(theta32, raw32))
    assert out32.dtype == np.float32, "float32 inputs were promoted to float64"
    assert np.all(np.isfinite(out32))
    np.testing.assert_allclose(out32, out, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("law", LAWS, ids=lambda law: law.name)
def test_sampler_log_loss_float32_finite(law, data):
    """Float32 evaluation at many prior draws of the sampler parameters, vmapped."""
    priors = resolve_priors(law)
    ref = inference.initial_ref(law, data)
    keys = jax.random.split(jax.random.PRNGKey(3), len(law.sites))
    phi64 = {s.name: priors[s.name].to_numpyro().sample(k, (N_POINTS,)).astype(jnp.float64)
             for s, k in zip(law.sites, keys, strict=True)}
    phi32 = {k: v.astype(jnp.float32) for k, v in phi64.items()}
    x64, x32 = _x(law, data, ref, jnp.float64), _x(law, data, ref, jnp.float32)

    f = jax.vmap(law.sampler_log_loss, in_axes=(0, None))
    out64, out32 = np.asarray(f(phi64, x64)), np.asarray(f(phi32, x32))
    assert out32.shape == (N_POINTS, data.n) and out32.dtype == np.float32
    assert np.all(np.isfinite(out64))
    assert np.all(np.isfinite(out32)), f"{law.name}: non-finite float32 log-loss"
    # float32 rounding of x (|x| <= ~28) and of the parameters: small absolute error in log L
    scale = np.maximum(1.0, np.abs(out64))
    assert np.max(np.abs(out32 - out64) / scale) < 1e-4

    # gradient of the float32 log-loss w.r.t. the parameters is finite too (what NUTS needs)
    g = jax.vmap(jax.grad(lambda p: jnp.sum(law.sampler_log_loss(p, x32))))(phi32)
    for k, v in g.items():
        assert np.asarray(v).dtype == np.float32
        assert np.all(np.isfinite(np.asarray(v))), (law.name, k)
