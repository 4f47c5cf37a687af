"""feature.fit / transform on DataFrames and with string group values."""

import numpy as np
import pytest

from jaxunlearn import feature

pd = pytest.importorskip("pandas")


def _frame(n=80, seed=0):
    rs = np.random.RandomState(seed)
    sex = np.where(rs.rand(n) < 0.5, "F", "M")
    male = sex == "M"
    colour = np.where(rs.rand(n) < 0.3 + 0.4 * male, "red", "blue")
    return pd.DataFrame(
        {
            "age": (rs.randint(20, 60, n) + 8 * male).astype(np.int64),
            "income": rs.randn(n) + 1.5 * male,
            "colour": colour,
        },
        index=np.arange(n)[::-1],
    ), sex


def test_string_groups_equal_integer_codes():
    x = np.random.RandomState(0).randn(40, 2).astype(np.float32)
    names = np.where(np.arange(40) % 2 == 0, "Female", "Male")
    codes = (names == "Male").astype(np.int32)
    by_name = feature.fit(x, names, method="gaussian")
    by_code = feature.fit(x, codes, method="gaussian")
    assert by_name.labels == ("Female", "Male")
    np.testing.assert_array_equal(
        feature.transform(by_name, x, list(names)),
        feature.transform(by_code, x, codes),
    )
    with pytest.raises(ValueError, match=r"z: values \['Other'\]"):
        feature.transform(by_name, x[:2], ["Female", "Other"])
    with pytest.raises(TypeError, match="z: expected group values of one"):
        feature.fit(x, np.array(["a", 1] * 20, dtype=object))
    w = feature.fit(
        x, names, method="gaussian", weights={"Female": 3.0, "Male": 1.0}
    )
    np.testing.assert_allclose(w.weights, [0.75, 0.25])


def test_dataframe_in_dataframe_out_with_categories_decoded(tmp_path):
    df, sex = _frame()
    rep = feature.fit(df, pd.Series(sex), method="quantile")
    out = feature.transform(rep, df, sex)
    assert list(out.columns) == ["age", "income", "colour"]
    np.testing.assert_array_equal(out.index, df.index)
    assert set(out["colour"]) <= {"red", "blue"}
    assert out["age"].dtype == np.int64
    # Repaired categories no longer follow the groups (counts are equal up
    # to the randomized draw: quantile per one-hot column, then decoding).
    share = out.groupby(sex)["colour"].apply(lambda c: np.mean(c == "red"))
    raw = df.groupby(sex)["colour"].apply(lambda c: np.mean(c == "red"))
    assert abs(share["F"] - share["M"]) < abs(raw["F"] - raw["M"])
    # t = 0 gives the input back, categories and integers included.
    same = feature.transform(rep, df, sex, t=0.0)
    pd.testing.assert_frame_equal(same, df, check_dtype=False)
    path = tmp_path / "frame.npz"
    feature.save(rep, path)
    back = feature.load(path)
    assert back.frame == rep.frame and back.labels == rep.labels
    pd.testing.assert_frame_equal(feature.transform(back, df, sex), out)


def test_dataframe_errors():
    df, sex = _frame()
    rep = feature.fit(df, sex, method="gaussian")
    with pytest.raises(ValueError, match="x: expected the columns"):
        feature.transform(rep, df[["income", "age", "colour"]], sex)
    with pytest.raises(ValueError, match=r"x\['colour'\]: categories \['green"):
        feature.transform(rep, df.assign(colour="green"), sex)
    with pytest.raises(TypeError, match="x: this repair was fitted on a Data"):
        feature.transform(rep, df.to_numpy(), sex)
    with pytest.raises(ValueError, match="z: values"):
        feature.transform(rep, df, np.where(sex == "F", "F", "X"))
    numeric = feature.fit(
        df[["income"]].to_numpy(np.float32), sex, method="gaussian"
    )
    with pytest.raises(TypeError, match="x: this repair was fitted on an arr"):
        feature.transform(numeric, df[["colour"]], sex)
