import jax
import numpy as np
import pytest

import scaling_bayes as sb
from scaling_bayes.laws import (
    LAWS,
    SHAPE_REF_ASPECT,
    LawRegistry,
    UnknownLawError,
    get_law,
    is_builtin,
    list_laws,
    register_law,
    shape_pair,
)

jax.config.update("jax_enable_x64", True)
ALL_LAWS = LAWS.laws()

#: Registration order of the built-in laws (the CLI listing and the golden file follow it).
BUILTIN_ORDER = (
    "chinchilla", "kaplan", "power_N", "power_N_E", "power_D", "power_D_E", "power_C",
    "power_C_E", "chinchilla_shape", "kaplan_shape", "bnsl1", "bnsl2", "transfer",
    "downstream_error", "routed_moe", "moe_power", "data_constrained", "overtraining",
    "kaplan_learning_curve", "lr_annealing",
)


@pytest.mark.parametrize("law", ALL_LAWS, ids=lambda law: law.name)
def test_sampler_and_textbook_forms_agree(law):
    rng = np.random.default_rng(1)
    for _ in range(5):
        phi = {s.name: (rng.uniform(0.05, 0.8) if s.domain == "positive" else rng.normal())
               for s in law.sites}
        # sizes over 7 decades; aspect ratios d_model/n_layers over their real range, 1-1000
        raw = {v: 10 ** rng.uniform(*((0, 3) if v == "aspect" else (6, 13)), size=50)
               for v in law.inputs}
        ref = {v: 10 ** rng.uniform(*((0.5, 2.5) if v == "aspect" else (7, 10)))
               for v in law.inputs}
        # a number in initial_ref is a fixed reference scale the sampler relies on
        ref.update({v: r for v, r in law.initial_ref.items() if not isinstance(r, str)})
        x = {v: np.log(raw[v] / ref[v]) for v in law.inputs}
        a = np.asarray(law.sampler_log_loss(phi, x))
        b = np.asarray(law.log_loss(law.to_textbook(phi, ref), raw))
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_chinchilla_formula():
    law = get_law("chinchilla")
    theta = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.3392, "beta": 0.2849}
    N, D = np.array([70e9]), np.array([1.4e12])
    expected = 1.69 + 406.4 * N**-0.3392 + 410.7 * D**-0.2849
    np.testing.assert_allclose(law(theta, N=N, D=D), expected, rtol=1e-12)


def test_kaplan_formula():
    law = get_law("kaplan")
    theta = {"N_c": 6.4e13, "D_c": 1.8e13, "alpha_N": 0.076, "alpha_D": 0.103}
    N, D = np.array([1e9]), np.array([2e10])
    expected = ((6.4e13 / N) ** (0.076 / 0.103) + 1.8e13 / D) ** 0.103
    np.testing.assert_allclose(law(theta, N=N, D=D), expected, rtol=1e-12)


def test_registry_lists_every_law_with_a_formula():
    laws = list_laws()
    for name in ("chinchilla", "kaplan", "power_N", "power_D", "power_C", "power_N_E",
                 "power_D_E", "power_C_E"):
        assert name in laws and "L =" in laws[name]
    assert get_law("chinchilla").param_names == ("E", "A", "B", "alpha", "beta")
    assert get_law("kaplan").param_names == ("N_c", "D_c", "alpha_N", "alpha_D")


def test_unknown_law_names_alternatives():
    with pytest.raises(UnknownLawError, match="available laws: .*chinchilla"):
        get_law("chinchila")


def test_builtin_laws_register_in_a_fixed_order():
    builtins = tuple(n for n in LAWS.names() if is_builtin(LAWS.get(n)))
    assert builtins == BUILTIN_ORDER
    assert tuple(list_laws())[: len(BUILTIN_ORDER)] == BUILTIN_ORDER
    assert tuple(LAWS)[: len(BUILTIN_ORDER)] == BUILTIN_ORDER  # iterates over names
    assert "chinchilla" in LAWS and get_law("chinchilla") in LAWS and "chinchila" not in LAWS


def test_registry_register_get_unregister():
    reg = LawRegistry()
    law = get_law("power_N")
    assert reg.register(law) is law and reg.get("power_N") is law and reg.names() == ("power_N",)
    assert len(reg) == 1 and list(reg) == ["power_N"] and reg.laws() == (law,)
    with pytest.raises(ValueError, match="already registered"):
        reg.register(law)
    with pytest.raises(TypeError, match="Law"):
        reg.register("power_N")
    assert reg.unregister("power_N") is law and "power_N" not in reg
    assert reg.unregister("power_N") is None
    with pytest.raises(UnknownLawError):
        reg.get("power_N")


def test_user_law_goes_through_the_public_registry():
    import dataclasses

    mine = dataclasses.replace(get_law("chinchilla"), name="test_laws_my_chinchilla")
    LAWS.unregister(mine.name)
    try:
        assert register_law(mine) is mine and sb.get_law(mine.name) is mine
        assert mine.name in sb.list_laws() and not is_builtin(mine)
    finally:
        LAWS.unregister(mine.name)
    assert mine.name not in LAWS
    with pytest.raises(ValueError, match="built-in"):
        LAWS.unregister("chinchilla")
    assert not is_builtin(dataclasses.replace(get_law("kaplan")))  # a copy is not the law


def test_capabilities_live_on_the_law():
    chin, kap = get_law("chinchilla"), get_law("kaplan")
    assert chin.closed_form_allocation is not None
    assert [law.name for law in ALL_LAWS if law.closed_form_allocation] == ["chinchilla"]
    th = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": np.array([0.34]), "beta": np.array([0.28])}
    ex = chin.allocation_exponents(th)
    np.testing.assert_allclose(ex["a"] + ex["b"], 1.0)
    np.testing.assert_allclose(ex["a"], 0.28 / 0.62)
    ex = kap.allocation_exponents({"alpha_N": np.array([0.076]), "alpha_D": np.array([0.103])})
    np.testing.assert_allclose(ex["a"], 1 / (1 + 0.076 / 0.103))
    assert set(ex) == {"a", "b"} and get_law("power_N").allocation_exponents({}) is None
    assert chin.allocatable and kap.allocatable and not get_law("data_constrained").allocatable
    assert not get_law("chinchilla_shape").allocatable
    assert not get_law("downstream_error").loss_in_nats and chin.loss_in_nats
    assert get_law("routed_moe").input_descriptions == {
        "N": "model size (parameters)", "experts": "number of experts (1 = dense)"}
    for law in ALL_LAWS:
        assert set(law.input_descriptions) == set(law.inputs)
        assert all(v != law.input_descriptions[v] for v in law.inputs), law.name


def test_closed_form_optimum_is_the_minimum_on_the_budget():
    chin = get_law("chinchilla")
    th = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.3392, "beta": 0.2849}
    logC = np.log(1e23)
    u, v = chin.closed_form_allocation.optimum(th, logC, np.log(6.0))
    np.testing.assert_allclose(float(u + v), logC - np.log(6.0), rtol=1e-12)
    du = np.linspace(-0.5, 0.5, 101)
    losses = np.asarray(chin.log_loss(th, {"N": np.exp(u + du), "D": np.exp(v - du)}))
    assert np.argmin(losses) == 50
    logL = np.asarray(chin.log_loss(th, {"N": np.exp(u), "D": np.exp(v)}))
    back = chin.closed_form_allocation.budget_for_loss(th, logL, np.log(6.0))
    np.testing.assert_allclose(float(back), logC, rtol=1e-10)
    assert np.isinf(chin.closed_form_allocation.budget_for_loss(th, np.log(1.5), np.log(6.0)))


@pytest.mark.parametrize("name", ["chinchilla_shape", "kaplan_shape"])
def test_shape_law_reference_view(name):
    law = get_law(name)
    base, shaped = shape_pair(name)
    assert shaped is law and law.base_law is base and shape_pair(base.name) == (base, law)
    assert base.reference_view is None and base.base_law is None
    rng = np.random.default_rng(0)
    phi = {s.name: rng.uniform(0.1, 0.5, size=7) for s in law.sites}
    ref = {"N": 1e8, "D": 1e10, "aspect": 40.0}
    view = law.reference_view(phi, ref, SHAPE_REF_ASPECT)
    assert set(view) == set(base.site_names)
    # the base law at the reference view is the shape law at aspect 64, draw by draw
    raw = {"N": np.full(7, 3e8), "D": np.full(7, 5e10)}
    a = np.asarray(base.log_loss(base.to_textbook(view, ref), raw))
    b = np.asarray(law.log_loss(law.to_textbook(phi, ref), {**raw, "aspect": np.full(7, 64.0)}))
    np.testing.assert_allclose(a, b, rtol=1e-10)
    with pytest.raises(UnknownLawError):
        shape_pair("power_N")
