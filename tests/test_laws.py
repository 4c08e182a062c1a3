import jax
import numpy as np
import pytest

from scaling_bayes.laws.base import _REGISTRY, UnknownLawError, get_law, list_laws

jax.config.update("jax_enable_x64", True)
LAWS = list(_REGISTRY.values())


@pytest.mark.parametrize("law", LAWS, ids=lambda law: law.name)
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
        # a number in initial_ref is a fixed reference scale the sampler relies on (laws_more)
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


def test_public_api_names():
    import scaling_bayes as sb

    for name in sb.__all__:
        assert getattr(sb, name) is not None, name
    assert callable(sb.fit) and callable(sb.compute_optimal) and callable(sb.predict)
    assert callable(sb.fit_many) and sb.allocation.compute_optimal is sb.compute_optimal
