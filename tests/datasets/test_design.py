import numpy as np
import pytest

from jaxunlearn import datasets
from jaxunlearn.datasets import tabular_design
from tests.datasets.test_tabular import _check_table


@pytest.fixture(scope="module")
def adult():
    return datasets.load_adult()


def test_design_one_hot(adult):
    design = tabular_design(adult, drop=("sex", "relationship", "fnlwgt"))
    x = design.x
    assert x.dtype == np.float32
    assert x.shape[0] == adult.x.shape[0]
    assert "sex" not in design.groups and "relationship" not in design.groups
    assert len(design.columns) == len(design.kinds) == x.shape[1]
    # Each categorical block is one-hot.
    for name, cols in design.groups.items():
        kind = adult.kinds[adult.columns.index(name)]
        if kind == "categorical":
            block = x[:, list(cols)]
            np.testing.assert_array_equal(block.sum(axis=1), 1.0)
            assert len(cols) == len(adult.categories[name])
        else:
            assert len(cols) == 1
            j = adult.columns.index(name)
            np.testing.assert_array_equal(x[:, cols[0]], adult.x[:, j])
    cols = [c for g in design.groups.values() for c in g]
    assert sorted(cols) == list(range(x.shape[1]))


def test_design_codes_and_standardize(adult):
    design = tabular_design(adult, one_hot=False, standardize=True)
    assert design.x.shape == adult.x.shape
    x = design.x.astype(np.float64)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=0), 1.0, atol=1e-5)


def test_design_bad_drop(adult):
    with pytest.raises(ValueError, match="drop: expected feature names"):
        tabular_design(adult, drop=("salary",))


def test_tabular_from_frame():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {
            "age": np.array([30, 40, 100, 30], np.int64),
            "score": [0.5, 1.5, 2.5, 3.5],
            "color": ["red", "blue", "red", "green"],
            "size": pd.Categorical(
                ["S", "L", "M", "S"], categories=["S", "M", "L"], ordered=True
            ),
            "flag": [True, False, True, True],
            "label": ["no", "yes", "yes", "no"],
        }
    )
    data = datasets.tabular_from_frame(
        df, target="label", sensitive=["color", "age"], name="toy"
    )
    _check_table(data)
    assert data.columns == ("age", "score", "color", "size", "flag")
    assert data.kinds == (
        "integer",
        "continuous",
        "categorical",
        "categorical",
        "categorical",
    )
    assert data.categories["color"] == ("blue", "green", "red")
    assert data.categories["size"] == ("S", "M", "L")  # the ordered dtype
    np.testing.assert_array_equal(data.x[:, 3], [0, 2, 1, 0])
    np.testing.assert_array_equal(data.y, [0, 1, 1, 0])
    assert data.target_names == ("no", "yes")
    np.testing.assert_array_equal(data.sensitive["color"].codes, [2, 0, 2, 1])
    assert data.sensitive["age"].names == ("30", "40", "100")  # numeric
    np.testing.assert_array_equal(data.sensitive["age"].codes, [0, 1, 2, 0])
    design = tabular_design(data, drop="color")
    assert design.columns[:2] == ("age", "score")
    # A regression target stays float.
    reg = datasets.tabular_from_frame(df, target="score")
    assert reg.y.dtype == np.float32 and reg.target_names == ()


def test_tabular_from_frame_errors():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [1.0, np.nan], "b": [0, 1], "c": [0.1, 0.2]})
    with pytest.raises(ValueError, match="target: expected column names"):
        datasets.tabular_from_frame(df, target="z")
    with pytest.raises(ValueError, match="sensitive: expected column names"):
        datasets.tabular_from_frame(df, target="b", sensitive=["q"])
    with pytest.raises(ValueError, match=r"missing values.*\['a'\]"):
        datasets.tabular_from_frame(df, target="b")
    ok = df.fillna(0.0)
    with pytest.raises(ValueError, match="sensitive: column 'c' is continuous"):
        datasets.tabular_from_frame(ok, target="b", sensitive=["c"])
    with pytest.raises(TypeError, match="frame: expected a pandas DataFrame"):
        datasets.tabular_from_frame(np.zeros((2, 2)), target="b")
