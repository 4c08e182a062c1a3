import pytest

from scaling_bayes.laws.base import get_law
from scaling_bayes.model.priors import Prior, PriorError, default_priors, resolve_priors


def test_defaults_cover_every_site_and_sigma():
    law = get_law("chinchilla")
    pri = default_priors(law)
    assert set(pri) == {*law.site_names, "sigma"}
    assert str(pri["alpha"]) == "LogNormal(loc=-1.2, scale=0.6)"


@pytest.mark.parametrize("text", ["LogNormal(loc=-1.0, scale=0.3)", "LogNormal(-1.0, 0.3)",
                                  " LogNormal( -1.0 , scale=0.3 ) "])
def test_parse_round_trip(text):
    p = Prior.parse(text)
    assert p == Prior("LogNormal", loc=-1.0, scale=0.3)
    assert Prior.parse(str(p)) == p


def test_override_by_name_accepts_several_forms():
    import numpyro.distributions as dist

    law = get_law("chinchilla")
    for value in ("Gamma(concentration=5, rate=15)", {"dist": "Gamma", "concentration": 5,
                                                        "rate": 15},
                  Prior("Gamma", concentration=5, rate=15), dist.Gamma(5.0, 15.0)):
        pri = resolve_priors(law, {"alpha": value})
        assert pri["alpha"].dist == "Gamma"
        assert float(pri["alpha"].params["rate"]) == 15


@pytest.mark.parametrize("name, value, match", [
    ("A", "Normal(0, 1)", "'A' is derived.*priors can be set on: E, lnA0"),
    ("gamma", "Normal(0, 1)", "no parameter 'gamma'"),
    ("alpha", "Normal(loc=0.3, scale=0.1)", "outside its domain \\(positive\\)"),
    ("alpha", "Nope(1)", "unknown distribution 'Nope'"),
    ("alpha", "LogNormal(loc=0, scale=-1)", "invalid"),
    ("alpha", "LogNormal(loc=nan, scale=1)", "plain numbers"),
    ("alpha", Prior("LogNormal", loc=float("inf"), scale=1.0), "finite number"),
    ("alpha", "not a prior", "cannot read prior"),
    ("alpha", 3.0, "cannot use 3.0 as a prior"),
    ("alpha", "Normal(scale=1, scale=2)", "'scale' is given twice"),
    ("alpha", "Normal(loc=" + "-" * 2000 + "1)", "at most 500"),
    ("alpha", "Delta(v=0.3)", "degenerate"),
])
def test_bad_overrides_are_named(name, value, match):
    with pytest.raises(PriorError, match=match):
        resolve_priors(get_law("chinchilla"), {name: value})
