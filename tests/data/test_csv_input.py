"""What a new user hits in the first five minutes (issue 14): compressed CSVs, "1.6B"-style
sizes, semicolon/tab/pipe separators, losses not in nats/token, and a sweep at a fixed D/N.

Everything here stops before NUTS (``inference.get_program`` is replaced by a stub) except one
CLI transcript with a tiny sampler.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import re
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest

import scaling_bayes as sb
from scaling_bayes.cli.main import main
from scaling_bayes.data.observations import (
    DataError,
    DataWarning,
    DuplicateColumnError,
    EmptyDataError,
    NonNumericError,
    NonPositiveError,
    design_warnings,
    load_data,
    sniff_delimiter,
)
from scaling_bayes.inference import engine as inference
from scaling_bayes.inference import hierarchical


class _ReachedCompile(Exception):
    """Raised by the stubbed get_program: validation (and the data warnings) came first."""


def _stub(*args, **kwargs):
    raise _ReachedCompile


@contextlib.contextmanager
def no_compile():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(inference, "get_program", _stub)
        mp.setattr(hierarchical, "get_program", _stub)
        yield


def sweep(n=30, ratio=None, scale=1.0, seed=0) -> pd.DataFrame:
    """Chinchilla-like sweep; ``ratio``: every run at D = ratio*N; ``scale`` multiplies loss."""
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7, 10, n)
    D = ratio * N if ratio else 10 ** rng.uniform(9, 12, n)
    loss = 1.69 + 406.4 * N ** -0.34 + 410.7 * D ** -0.28
    return pd.DataFrame({"N": N, "D": D, "loss": scale * loss})


def csv_text(df: pd.DataFrame, sep: str = ",") -> str:
    return df.to_csv(index=False, sep=sep, float_format="%.17g")


def data_warnings(data, law="chinchilla", **kw) -> list[str]:
    """The DataWarnings sb.fit issues before compiling anything."""
    with no_compile(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(_ReachedCompile):
            sb.fit(data, law=law, chains=1, warmup=1, draws=1, **kw)
    return [str(w.message) for w in caught if issubclass(w.category, DataWarning)]


# ------------------------------------------------------------------ 1. compressed CSVs
def _zip(text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("sweep.csv", text)
    return buf.getvalue()


COMPRESS = {
    "gz": lambda t: gzip.compress(t.encode()),
    "bz2": lambda t: bz2.compress(t.encode()),
    "xz": lambda t: lzma.compress(t.encode()),
    "zip": _zip,
}


def same(a, b):
    assert a.to_frame().equals(b.to_frame())
    assert a.hash() == b.hash() and a.columns_used == b.columns_used


@pytest.mark.parametrize("ext", list(COMPRESS))
def test_compressed_csv_equals_plain(ext, tmp_path):
    df = sweep().assign(run=[f"r{i}" for i in range(30)])
    text = csv_text(df)
    (tmp_path / "s.csv").write_text(text)
    plain = load_data(tmp_path / "s.csv")
    (tmp_path / f"s.csv.{ext}").write_bytes(COMPRESS[ext](text))
    got = load_data(tmp_path / f"s.csv.{ext}")
    same(got, plain)
    assert list(got.extra["run"]) == list(df["run"])
    # by content too: compressed bytes under a plain name, and pandas' own writer
    (tmp_path / "misnamed.csv").write_bytes(COMPRESS[ext](text))
    same(load_data(tmp_path / "misnamed.csv"), plain)
    pd_name = tmp_path / f"p.csv.{ext}"
    df.to_csv(pd_name, index=False, float_format="%.17g")
    same(load_data(pd_name), plain)


def test_plain_text_with_a_compressed_name_is_read(tmp_path):
    text = csv_text(sweep())
    (tmp_path / "s.csv.gz").write_text(text)
    (tmp_path / "s.csv").write_text(text)
    same(load_data(tmp_path / "s.csv.gz"), load_data(tmp_path / "s.csv"))


@pytest.mark.parametrize("ext", list(COMPRESS))
def test_checks_run_on_the_decompressed_text(ext, tmp_path):
    p = tmp_path / f"bad.csv.{ext}"
    p.write_bytes(COMPRESS[ext]("N,D,loss\n1e9,1e10,3\n1e9,1e10\n"))
    with pytest.raises(DataError, match=r"line 3 has 2 fields but the header has 3"):
        load_data(p)
    p.write_bytes(COMPRESS[ext]("N,D,loss,loss\n1,2,3,4\n"))
    with pytest.raises(DuplicateColumnError, match=r"column 'loss' appears twice"):
        load_data(p)
    p.write_bytes(COMPRESS[ext]("N,D,loss\n1e9,1e10,abc\n"))
    with pytest.raises(NonNumericError, match=r"column 'loss'.*row 0 hold text: 'abc'"):
        load_data(p)
    p.write_bytes(COMPRESS[ext](""))
    with pytest.raises(EmptyDataError, match=r"is empty after \w+ decompression"):
        load_data(p)


def test_zip_with_several_members_names_them(tmp_path):
    p = tmp_path / "two.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("a.csv", "N,D,loss\n")
        zf.writestr("b.csv", "N,D,loss\n")
        zf.writestr("__MACOSX/._a.csv", "junk")  # Finder's resource forks are not counted
    with pytest.raises(DataError, match=r"holds 2 files \(a\.csv, b\.csv\); it must hold exactly "
                                        r"one CSV"):
        load_data(p)
    with zipfile.ZipFile(p, "w"):
        pass
    with pytest.raises(DataError, match=r"zip archive holds no file"):
        load_data(p)


def test_corrupt_or_foreign_bytes(tmp_path):
    good = gzip.compress(csv_text(sweep()).encode())
    (tmp_path / "cut.csv.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match=r"cannot decompress the gzip data .*truncated or corrupt"):
        load_data(tmp_path / "cut.csv.gz")
    (tmp_path / "latin1.csv.gz").write_bytes(gzip.compress("N,D,loss,caf\xe9\n".encode("latin-1")))
    with pytest.raises(DataError, match=r"not UTF-8 text .* after gzip decompression"):
        load_data(tmp_path / "latin1.csv.gz")
    (tmp_path / "fake.csv.bz2").write_bytes(b"\xff\xfe\x00N,D")
    with pytest.raises(DataError, match=r"not UTF-8 .*the name says bz2 but the content is not"):
        load_data(tmp_path / "fake.csv.bz2")
    (tmp_path / "z.csv.zst").write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 8)
    with pytest.raises(DataError, match=r"zstd-compressed files are not read"):
        load_data(tmp_path / "z.csv.zst")


# ------------------------------------------------------------------ 2. 100M / 1.6B / 2T
@pytest.mark.parametrize("text, value", [
    ("100M", 1e8), ("1.6B", 1.6e9), ("1.6b", 1.6e9), ("1.6 B", 1.6e9), (" 2T ", 2e12),
    ("350k", 3.5e5), ("350K", 3.5e5), ("5G", 5e9), ("0.5m", 5e5), (".5M", 5e5), ("70B", 7e10),
    ("1.", 1.0), ("3e9", 3e9), ("+2M", 2e6),
])
def test_suffixes_in_size_columns(text, value):
    df = pd.DataFrame({"N": [text, "2e9", 3e9], "tokens": ["20B", text, "1T"],
                       "C": [text, text, text], "loss": [3.1, 3.0, 2.9]})
    d = load_data(df)
    assert d.N[0] == value and d.D[1] == value and np.all(d.C == value)  # exact: 1.6B == 1.6e9
    assert list(d.N[1:]) == [2e9, 3e9] and d.D[0] == 2e10 and d.D[2] == 1e12


def test_suffixes_from_csv(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("params,tokens,loss\n100M,2B,3.4\n1.6B,32b,2.6\n350k,7 T,4.1\n")
    d = load_data(p)
    assert list(d.N) == [1e8, 1.6e9, 3.5e5] and list(d.D) == [2e9, 3.2e10, 7e12]
    assert np.allclose(d.C, 6 * d.N * d.D)


@pytest.mark.parametrize("text", ["big", "1.6X", "1.6BB", "M", "1e3M", "1,6B", "١M", "B1",
                                  "1.6 Bn"])
def test_text_still_refused_in_size_columns(text):
    df = pd.DataFrame({"N": ["1e9", text, "2B"], "D": [1e10, 2e10, 3e10], "loss": [3, 2.9, 2.8]})
    with pytest.raises(NonNumericError) as e:
        load_data(df)
    msg = str(e.value)
    assert msg.startswith("column 'N' (model size in parameters) must be numeric")
    assert f"row 1 hold text: {text!r}" in msg
    assert "K, M, B/G or T suffix" in msg and "1.6B" in msg


def test_loss_keeps_refusing_suffixes():
    df = pd.DataFrame({"N": [1e9, 2e9], "D": [1e10, 2e10], "loss": ["3.1", "3k"]})
    with pytest.raises(NonNumericError) as e:
        load_data(df)
    assert str(e.value) == ("column 'loss' (final loss (nats/token)) must be numeric; "
                            "row 1 hold text: '3k'")


def test_suffixed_values_are_validated_like_numbers():
    df = pd.DataFrame({"N": ["-1M", "2M"], "D": [1e10, 2e10], "loss": [3.0, 2.9]})
    with pytest.raises(NonPositiveError, match=r"column 'N'.*must be > 0; row 0 hold -1e\+06"):
        load_data(df)


# ------------------------------------------------------------------ 3. separators
@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_other_separators_load(sep, tmp_path):
    df = sweep()
    (tmp_path / "comma.csv").write_text(csv_text(df))
    (tmp_path / "other.csv").write_text(csv_text(df, sep))
    same(load_data(tmp_path / "other.csv"), load_data(tmp_path / "comma.csv"))
    (tmp_path / "other.csv.gz").write_bytes(gzip.compress(csv_text(df, sep).encode()))
    same(load_data(tmp_path / "other.csv.gz"), load_data(tmp_path / "comma.csv"))


def test_separator_detection():
    assert sniff_delimiter("N,D,loss\n1,2,3\n") == ","
    assert sniff_delimiter("N;D;loss\n1;2;3\n") == ";"
    assert sniff_delimiter("N\tD\tloss\n1\t2\t3\n") == "\t"
    assert sniff_delimiter("N|D|loss\n1|2|3\n") == "|"
    assert sniff_delimiter("loss\n3\n") == ","  # one column
    assert sniff_delimiter("N;D;loss\n1,5;2,5;3,5\n") == ";"  # decimal commas in the rows
    # a header split by commas only is always read with commas
    assert sniff_delimiter("N,D,loss\n1;2;3\n1|2|3\n") == ","
    # both in the header: the one that splits the rows consistently
    assert sniff_delimiter("run;name,N,D,loss\nr1;a,1,2,3\nr2;b,4,5,6\n") == ","
    assert sniff_delimiter("N;D;lr,wd;loss\n1;2;1,2;3\n4;5;6,7;8\n") == ";"


def test_semicolon_file_problems_are_clear(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("N;D;loss\n1e9;1e10;3\n2e9;2e10\n")
    with pytest.raises(DataError, match=r"line 3 has 2 fields but the header has 3 \(N, D, loss\);"
                                        r" check for stray or missing semicolons"):
        load_data(p)
    p.write_text("N;D;loss\n")
    with pytest.raises(EmptyDataError, match="header but no rows"):
        load_data(p)
    p.write_text("N;D;loss\n1e9;1e10;3,1\n2e9;2e10;2,9\n")  # decimal commas
    with pytest.raises(NonNumericError) as e:
        load_data(p)
    msg = str(e.value)
    assert "column 'loss'" in msg and "rows 0, 1 hold text: '3,1', '2,9'" in msg
    assert "decimal commas like 1,5" in msg and "write 1.5" in msg
    p.write_text("N;D;loss\n8,14E+08;5,18E+10;3.1\n6,4E07;9,2E09;2.9\n")  # Excel, decimal comma
    with pytest.raises(NonNumericError, match=r"column 'N'.*'8,14E\+08'.*decimal commas"):
        load_data(p)


# ------------------------------------------------------------------ 4. loss units
def test_percent_loss_warns_once_before_sampling():
    msgs = data_warnings(sweep(scale=100))
    assert len(msgs) == 1, msgs
    (msg,) = msgs
    assert "\n" not in msg
    assert re.match(r"loss ranges from \d+(\.\d+)? to \d+(\.\d+)? \(30 of 30 rows outside "
                    r"0\.01-20\)", msg), msg
    for part in ("nats/token", "divide by 100", "ln 2", "fitting continues"):
        assert part in msg, msg


def test_loss_310_warns_and_3_1_does_not():
    df = sweep(n=10)
    df["loss"] = np.linspace(290, 310, 10)
    (msg,) = design_warnings(load_data(df), sb.get_law("chinchilla"))
    assert msg.startswith("loss ranges from 290 to 310 (10 of 10 rows outside 0.01-20)")
    df["loss"] = np.linspace(2.9, 3.1, 10)
    assert design_warnings(load_data(df), sb.get_law("chinchilla")) == []
    assert data_warnings(df) == []


def test_tiny_loss_and_mixed_units_warn():
    (msg,) = design_warnings(load_data(sweep(scale=1e-3)), sb.get_law("chinchilla"))
    assert "rows outside 0.01-20" in msg and "scaled down" in msg
    df = sweep(n=10)
    df.loc[3, "loss"] = 310.0
    (msg,) = design_warnings(load_data(df), sb.get_law("chinchilla"))
    assert "(1 of 10 rows outside" in msg and "same units" in msg


def test_error_rate_law_has_no_loss_unit_check():
    df = pd.DataFrame({"L_train": np.linspace(2.2, 4.5, 12), "loss": np.linspace(0.001, 0.5, 12)})
    assert design_warnings(load_data(df), sb.get_law("downstream_error")) == []


def test_warnings_go_through_the_warnings_module():
    # catch them as errors, filter them away, or see them once per call
    with no_compile(), warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        with pytest.raises(DataWarning, match="loss ranges from"):
            sb.fit(sweep(scale=100), chains=1, warmup=1, draws=1)
        warnings.simplefilter("ignore", DataWarning)
        with pytest.raises(_ReachedCompile):
            sb.fit(sweep(scale=100), chains=1, warmup=1, draws=1)
    assert issubclass(DataWarning, UserWarning)


# ------------------------------------------------------------------ 5. D/N fixed
def test_fixed_tokens_per_parameter_warns():
    msgs = data_warnings(sweep(ratio=20))
    assert msgs == [
        "all runs have D/N ≈ 20 (log N and log D correlate at r = 1.000): the N and D terms of "
        "law 'chinchilla' (A, alpha vs B, beta) are not separately identifiable; add runs that "
        "vary D at a fixed N, or N at a fixed D; fitting continues"]
    (msg,) = data_warnings(sweep(ratio=20), law="kaplan")
    assert "law 'kaplan' (N_c, alpha_N vs D_c, alpha_D)" in msg
    # only laws that take both N and D
    assert data_warnings(sweep(ratio=20), law="power_N") == []


def test_nearly_collinear_designs_warn():
    df = sweep(n=40, ratio=20)
    rng = np.random.default_rng(1)
    df["D"] *= rng.choice([0.9, 1.1], 40)  # 18 N or 22 N
    (msg,) = design_warnings(load_data(df), sb.get_law("chinchilla"))
    assert msg.startswith("all runs have D/N between 18 and 22 (log N and log D correlate at r = ")
    df["D"] = df["N"] ** 1.3  # D ∝ N^1.3: not a fixed ratio but still one line in (log N, log D)
    (msg,) = design_warnings(load_data(df), sb.get_law("chinchilla"))
    assert msg.startswith("D grows with N as D ∝ N^1.30 across the runs")
    assert "not separately identifiable" in msg


def test_identifiable_designs_do_not_warn():
    assert design_warnings(load_data(sweep()), sb.get_law("chinchilla")) == []
    chin = sb.load_dataset("chinchilla", drop_excluded=True)
    assert data_warnings(chin) == []
    # one IsoFLOP profile (D ∝ 1/N): the N and D terms pull opposite ways and separate
    df = sweep()
    df["D"] = 1e20 / df["N"]
    assert design_warnings(load_data(df), sb.get_law("chinchilla")) == []
    # several ratios, each at several sizes: fine
    df = pd.concat([sweep(n=10, ratio=r, seed=i) for i, r in enumerate((5, 20, 80))])
    assert design_warnings(load_data(df), sb.get_law("chinchilla")) == []


def test_both_warnings_at_once_and_hierarchical_hook():
    df = sweep(n=40, ratio=20, scale=100).assign(mix=["a", "b"] * 20)
    msgs = data_warnings(df)
    assert len(msgs) == 2 and msgs[0].startswith("loss ranges") and msgs[1].startswith("all runs")
    with no_compile(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(_ReachedCompile):
            sb.fit_hierarchical(df, group="mix", chains=1, warmup=1, draws=1)
    assert [str(w.message) for w in caught if w.category is DataWarning] == msgs


# ------------------------------------------------------------------ CLI transcript
def test_cli_transcript(tmp_path, capsys):
    # gzip, semicolons, "1.6B" sizes, loss in percent, every run at D = 20N: all five at once
    df = sweep(n=24, ratio=20, scale=100)
    lines = ["params;tokens;val_loss"] + [
        f"{n / 1e6:.6f}M;{d / 1e9:.6f} B;{loss:.6f}" for n, d, loss in df.itertuples(index=False)]
    p = tmp_path / "my.csv.gz"
    p.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    code = main(["fit", str(p), "--law", "chinchilla", "--chains", "2", "--warmup", "50",
                 "--draws", "50", "--no-plots", "--no-progress", "--out", str(tmp_path / "o")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"data: {p}, 24 rows" in out
    warned = [ln for ln in err.splitlines() if ln.startswith("warning: ")]
    assert len([w for w in warned if w.startswith("warning: loss ranges from")]) == 1, err
    assert len([w for w in warned if w.startswith("warning: all runs have D/N ≈ 20")]) == 1, err
    assert "Traceback" not in err
