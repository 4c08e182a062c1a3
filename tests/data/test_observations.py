import numpy as np
import pandas as pd
import pytest

from scaling_bayes.data.observations import (
    DataError,
    DuplicateColumnError,
    EmptyDataError,
    MissingColumnError,
    NonFiniteError,
    NonNumericError,
    NonPositiveError,
    NoSpreadError,
    TooFewRowsError,
    load_data,
)
from scaling_bayes.laws.base import get_law

CHIN = get_law("chinchilla")


def frame(n=10, **over):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"N": 10 ** rng.uniform(7, 10, n), "D": 10 ** rng.uniform(9, 12, n),
                       "loss": rng.uniform(2, 4, n)})
    for k, v in over.items():
        df[k] = v
    return df


def write(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_aliases_and_derivations():
    df = frame()
    d = load_data(df.rename(columns={"N": "params", "D": "tokens"}))
    np.testing.assert_allclose(d.C, 6 * d.N * d.D)
    assert d.flop_convention == "N, D given; C = 6ND derived"
    only_c = pd.DataFrame({"model_size": df.N, "FLOPs": 6 * df.N * df.D, "loss": df.loss})
    d2 = load_data(only_c)
    np.testing.assert_allclose(d2.D, df.D, rtol=1e-12)
    assert "D = C/(6N) derived" in d2.flop_convention
    d3 = load_data(only_c, flops_per_param_token=8)
    np.testing.assert_allclose(d3.D, 6 * df.D / 8, rtol=1e-12)


def test_extra_columns_kept_and_explicit_mapping():
    df = frame(run=[f"r{i}" for i in range(10)], lr=np.linspace(1e-4, 1e-3, 10))
    d = load_data(df)
    assert list(d.extra.columns) == ["run", "lr"]
    df2 = df.rename(columns={"N": "non_emb"})
    with pytest.raises(MissingColumnError, match="column 'N'"):
        load_data(df2).check_for_law(CHIN)
    assert np.array_equal(load_data(df2, columns={"N": "non_emb"}).N, df.N.to_numpy())


def test_standard_name_beats_lookalike():
    df = frame()
    df["C"] = 6 * df.N * df.D
    df["C_6ND"] = df["C"] * 1.1
    np.testing.assert_array_equal(load_data(df).C, df.C.to_numpy())


@pytest.mark.parametrize("col, values, err, match", [
    ("N", ["1e9", "abc"] + ["1e9"] * 8, NonNumericError, "column 'N'.*row 1 hold text: 'abc'"),
    ("D", [np.nan] + [1e10] * 9, NonFiniteError, "column 'D'.*missing or NaN values in row 0"),
    ("loss", [np.inf] + [3.0] * 9, NonFiniteError, "column 'loss'.*infinite values in row 0"),
    ("N", [0.0, -5.0] + [1e9] * 8, NonPositiveError, "column 'N'.*must be > 0; rows 0, 1"),
    ("loss", [3.0] * 9 + [-1.0], NonPositiveError, "column 'loss'.*row 9"),
    ("N", [True] * 10, NonNumericError, "booleans"),
])
def test_bad_values_name_column_and_rows(col, values, err, match):
    df = frame()
    df[col] = values
    with pytest.raises(err, match=match):
        load_data(df)


def test_missing_columns():
    with pytest.raises(MissingColumnError, match="no loss column"):
        load_data(frame().drop(columns="loss"))
    with pytest.raises(MissingColumnError, match="column 'D'"):
        load_data(frame().drop(columns="D")).check_for_law(CHIN)


def test_too_few_rows_and_no_spread():
    with pytest.raises(TooFewRowsError, match="6 free parameters.*5 rows.*at least 7"):
        load_data(frame(5)).check_for_law(CHIN)
    with pytest.raises(NoSpreadError, match="column 'N'.*single value 1e\\+09"):
        load_data(frame(N=1e9)).check_for_law(CHIN)
    load_data(frame(N=1e9)).check_for_law(get_law("power_D"))  # needs only D


def test_csv_problems(tmp_path):
    with pytest.raises(EmptyDataError, match="empty"):
        load_data(write(tmp_path, ""))
    with pytest.raises(EmptyDataError, match="header but no rows"):
        load_data(write(tmp_path, "N,D,loss\n"))
    with pytest.raises(DuplicateColumnError, match="'N' appears twice"):
        load_data(write(tmp_path, "N,D,N,loss\n1,2,3,4\n"))
    with pytest.raises(DuplicateColumnError, match="look like N"):
        load_data(write(tmp_path, "params,model_size,D,loss\n1,2,3,4\n"))
    with pytest.raises(FileNotFoundError, match="not found"):
        load_data(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="directory"):
        load_data(tmp_path)
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00N")
    with pytest.raises(DataError):
        load_data(tmp_path / "bin.csv")


def test_csv_roundtrip_and_unicode(tmp_path):
    df = frame(modèle=["α"] * 10)
    p = tmp_path / "sweep.csv"
    df.to_csv(p, index=False)
    d = load_data(p)
    np.testing.assert_array_equal(d.N, df.N.to_numpy())
    assert d.extra["modèle"].iloc[0] == "α"
    assert d.source == str(p)


def test_derived_overflow_is_reported():
    df = frame(N=[1e300] * 10, D=[1e300] * 10)
    with pytest.raises(NonFiniteError, match="derived column 'C'.*over- or underflows"):
        load_data(df)


def test_hash_is_stable_and_sensitive():
    a, b = load_data(frame()), load_data(frame())
    assert a.hash() == b.hash()
    df = frame()
    df.loc[3, "loss"] += 1e-12
    assert load_data(df).hash() != a.hash()


def test_all_errors_are_value_errors():
    for cls in (EmptyDataError, MissingColumnError, NonNumericError, NonFiniteError,
                NonPositiveError, TooFewRowsError, NoSpreadError, DuplicateColumnError):
        assert issubclass(cls, DataError) and issubclass(cls, ValueError)


def test_csv_with_spaces_and_quotes(tmp_path):
    d = load_data(write(tmp_path, 'N, D, loss\n1e9, 2e10, "3.0"\n2e9, 4e10, "2.9"\n'))
    np.testing.assert_array_equal(d.loss, [3.0, 2.9])
