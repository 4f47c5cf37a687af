"""``jaxunlearn feature`` on a CSV with text columns: repaired.csv and apply."""

import argparse
import json

import jax
import numpy as np
import pandas as pd
import pytest

from jaxunlearn import cli, feature
from jaxunlearn.cli import _commands


def _run(capsys, argv):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _table(n, seed):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    male = sex == "M"
    return pd.DataFrame(
        {
            "age": (30 + 8 * male + rng.normal(0, 5, n)).round().astype(int),
            "sex": sex,
            "job": np.where(
                rng.random(n) < np.where(male, 0.8, 0.2), "eng", "art"
            ),
            "city": rng.choice(["Lyon", "Nice", "Paris"], n),
            "income": (20 + 5 * male + rng.normal(0, 3, n)).round(2),
            "approved": rng.choice(["no", "yes"], n),
        }
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One quantile run (fast) on 120 rows; returns (input, folder)."""
    root = tmp_path_factory.mktemp("table")
    table = _table(120, 0)
    path = root / "credit.csv"
    table.to_csv(path, index=False)
    out = root / "out"
    code = cli.main(
        ["feature", "--data", f"csv:{path}", "--attribute", "sex",
         "--target", "approved", "--method", "quantile", "--t", "0,1",
         "--auditors", "logistic", "--out", str(out), "--quiet", "--json"]
    )  # fmt: skip
    assert code == 0
    return table, path, out


def test_repaired_csv_has_every_row_decoded(run):
    table, _, out = run
    rep = pd.read_csv(out / "repaired.csv")
    assert list(rep.columns) == ["row", "split", *table.columns]
    assert rep["row"].tolist() == list(range(len(table)))
    counts = rep["split"].value_counts().to_dict()
    assert set(counts) == {"train", "test"} and 28 <= counts["test"] <= 32
    # The attribute and the target are the input's, under their own names.
    assert rep["sex"].tolist() == table["sex"].tolist()
    assert rep["approved"].tolist() == table["approved"].tolist()
    # Categories come back as labels, integers as integers.
    assert set(rep["job"]) <= {"art", "eng"}
    assert set(rep["city"]) <= {"Lyon", "Nice", "Paris"}
    assert rep["age"].dtype.kind == "i"
    # The full repair (the default level) moved the group-dependent columns.
    assert not np.array_equal(rep["income"], table["income"])
    men = rep["sex"] == "M"
    gap = rep["income"][men].mean() - rep["income"][~men].mean()
    assert abs(gap) < 1.0  # about 5 before the repair


def test_repaired_t_zero_is_the_input_every_row(capsys, run, tmp_path):
    _, path, _ = run
    out = tmp_path / "o"
    code, _, err = _run(
        capsys,
        ["feature", "--data", f"csv:{path}", "--attribute", "sex",
         "--target", "approved", "--method", "quantile", "--t", "0,1",
         "--repaired-t", "0", "--max-rows", "80", "--auditors", "logistic",
         "--out", str(out), "--quiet"],
    )  # fmt: skip
    assert code == 0, err
    rep = pd.read_csv(out / "repaired.csv")
    # The rows --max-rows left out are repaired too, marked unused.
    assert rep["row"].tolist() == list(range(120))
    assert (rep["split"] == "unused").sum() == 40
    rep = rep.drop(columns=["row", "split"])
    table = pd.read_csv(path)
    for col in ("age", "sex", "job", "city", "approved"):
        assert rep[col].tolist() == table[col].tolist(), col
    np.testing.assert_allclose(rep["income"], table["income"], rtol=1e-6)


def test_repaired_t_must_be_a_level(capsys, run, tmp_path):
    _, path, _ = run
    code, _, err = _run(
        capsys,
        ["feature", "--data", f"csv:{path}", "--attribute", "sex",
         "--t", "0,1", "--repaired-t", "0.5", "--out", str(tmp_path)],
    )  # fmt: skip
    assert code == 2 and "--repaired-t: expected one of the levels" in err


def test_apply_repairs_a_new_file_like_the_library(capsys, run, tmp_path):
    _, _, out = run
    new = _table(25, 1)
    new_path = tmp_path / "new.csv"
    new.to_csv(new_path, index=False)
    target = tmp_path / "new_repaired.csv"
    argv = ["feature", "apply", "--repair", str(out / "repair.npz"),
            "--data", f"csv:{new_path}", "--attribute", "sex",
            "--out", str(target), "--seed", "3", "--json"]  # fmt: skip
    code, stdout, err = _run(capsys, argv)
    assert code == 0, err
    res = json.loads(stdout)
    assert res == {
        "rows": 25, "t": 1.0, "method": "quantile", "out": str(target)
    }  # fmt: skip
    got = pd.read_csv(target)
    assert list(got.columns) == ["row", *new.columns]
    assert got["sex"].tolist() == new["sex"].tolist()
    assert got["approved"].tolist() == new["approved"].tolist()
    repair = feature.load(out / "repair.npz")
    cols = list(repair.frame.columns)
    want = feature.transform(
        repair,
        pd.read_csv(new_path)[cols],
        new["sex"].to_numpy(dtype=object),
        key=jax.random.key(3),
    )
    for col in cols:
        if want[col].dtype.kind == "f":
            np.testing.assert_allclose(got[col], want[col], rtol=1e-6)
        else:
            assert got[col].tolist() == want[col].tolist(), col


@pytest.mark.parametrize(
    ("edit", "flag", "match"),
    [
        (lambda t: t.assign(sex="X"), "--attribute", "not seen at fit"),
        (lambda t: t.assign(job="cook"), "--data", "'job'"),
        (lambda t: t.drop(columns=["city"]), "--data", "lacks"),
        (
            lambda t: t.rename(columns={"sex": "gender"}),
            "--attribute",
            "not in",
        ),
        (lambda t: t.assign(split="a"), "--data", "rename them"),
    ],
)
def test_apply_bad_input_names_the_flag(
    capsys, run, tmp_path, edit, flag, match
):
    _, _, out = run
    path = tmp_path / "bad.csv"
    edit(_table(6, 2)).to_csv(path, index=False)
    code, _, err = _run(
        capsys,
        ["feature", "apply", "--repair", str(out / "repair.npz"),
         "--data", f"csv:{path}", "--attribute", "sex",
         "--out", str(tmp_path / "o.csv")],
    )  # fmt: skip
    assert code == 2
    assert err.startswith(f"jaxunlearn: error: {flag}") and match in err, err
    assert not (tmp_path / "o.csv").exists()


def test_apply_needs_a_table_repair(capsys, tmp_path):
    x = np.random.default_rng(0).normal(size=(20, 2)).astype(np.float32)
    path = tmp_path / "arr.npz"
    feature.save(feature.fit(x, np.arange(20) % 2, method="quantile"), path)
    code, _, err = _run(
        capsys,
        ["feature", "apply", "--repair", str(path), "--data",
         f"csv:{tmp_path}/x.csv", "--attribute", "sex"],
    )  # fmt: skip
    assert code == 2 and "--repair:" in err and "not fitted on a table" in err
    code, _, err = _run(
        capsys,
        ["feature", "apply", "--data", "csv:x.csv", "--attribute", "sex"],
    )  # fmt: skip
    assert code == 2 and "--repair: expected" in err


@pytest.mark.parametrize(
    ("image_shape", "method"),
    [(None, "semidiscrete"), ((8, 8), "latent_semidiscrete")],
)
def test_default_method_per_data_kind(image_shape, method):
    args = argparse.Namespace(
        method=None, t="0,1", max_rows=None, auditors="logistic"
    )
    data = argparse.Namespace(image_shape=image_shape)
    assert _commands._feature_settings(args, data)["method"] == method
