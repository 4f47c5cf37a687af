import warnings

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    cross_val_score,
)
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.utils.estimator_checks import (  # noqa: E402
    parametrize_with_checks,
)

from jaxunlearn import feature  # noqa: E402
from jaxunlearn.feature import BarycenterRepair  # noqa: E402
from jaxunlearn.feature._sklearn import EXPECTED_FAILED_CHECKS  # noqa: E402


def _data(n=50):
    rs = np.random.RandomState(0)
    x = np.concatenate([rs.randn(n, 2), rs.randn(n, 2) * 2 + 1]).astype(
        np.float32
    )
    z = np.r_[np.zeros(n, int), np.ones(n, int)]
    return x, z


def _frame(n=60, seed=0):
    rs = np.random.RandomState(seed)
    sex = np.where(rs.rand(n) < 0.5, "Female", "Male")
    male = sex == "Male"
    return pd.DataFrame(
        {
            "age": rs.randn(n) * 10 + 40 + 5 * male,
            "sex": sex,
            "hours": rs.randn(n) * 5 + 38 + 4 * male,
        },
        index=np.arange(100, 100 + n),
    )


@parametrize_with_checks(
    [BarycenterRepair(sensitive_feature_ids=[0], method="quantile")],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        # Some checks fit on data whose columns have a single value.
        warnings.simplefilter("ignore", RuntimeWarning)
        check(estimator)


def test_legacy_second_argument_matches_functional_api():
    x, z = _data()
    est = BarycenterRepair(method="gaussian", t=0.5)
    out = est.fit_transform(x, z)
    want = feature.transform(feature.fit(x, z, method="gaussian"), x, z, t=0.5)
    np.testing.assert_allclose(out, want, rtol=1e-6)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    back = BarycenterRepair().fit(x, z)
    np.testing.assert_allclose(
        back.inverse_transform(back.transform(x, z), z), x, atol=1e-4
    )


def test_string_column_by_name_is_dropped_and_pandas_out():
    df = _frame()
    est = BarycenterRepair(sensitive_feature_ids=["sex"]).set_output(
        transform="pandas"
    )
    out = est.fit_transform(df)
    assert list(out.columns) == ["age", "hours"]
    assert list(est.get_feature_names_out()) == ["age", "hours"]
    assert list(est.feature_names_in_) == ["age", "sex", "hours"]
    assert est.n_features_in_ == 3
    assert list(est.groups_) == ["Female", "Male"]
    np.testing.assert_array_equal(out.index, df.index)
    # Full gaussian repair: both groups' means coincide.
    m = out.groupby(df["sex"].to_numpy()).mean()
    np.testing.assert_allclose(m.loc["Female"], m.loc["Male"], atol=1e-3)
    # Same rows by position, as an object array: same numbers.
    by_pos = BarycenterRepair(sensitive_feature_ids=[1]).fit(
        df.to_numpy(dtype=object)
    )
    np.testing.assert_allclose(
        by_pos.transform(df.to_numpy(dtype=object)), out.to_numpy(), rtol=1e-9
    )


def test_float64_round_trip_and_float32():
    df = _frame()
    out = BarycenterRepair(sensitive_feature_ids="sex").fit_transform(df)
    assert out.dtype == np.float64
    x = df[["age", "hours"]].to_numpy(np.float64)
    # In float64 the repaired groups' covariances agree to float64 rounding.
    covs = [np.cov(out[df["sex"] == g].T) for g in ("Female", "Male")]
    np.testing.assert_allclose(covs[0], covs[1], rtol=1e-9)
    assert np.abs(out - x).max() > 0.1
    f32 = df.astype({"age": np.float32, "hours": np.float32})
    out32 = BarycenterRepair(sensitive_feature_ids="sex").fit_transform(f32)
    assert out32.dtype == np.float32


def test_pipeline_clone_grid_search_cross_val_score():
    df = _frame(n=80)
    rs = np.random.RandomState(1)
    y = (df["age"] + rs.randn(len(df)) * 5 > 42).astype(int).to_numpy()
    pipe = make_pipeline(
        BarycenterRepair(sensitive_feature_ids=["sex"], method="gaussian"),
        LogisticRegression(),
    )
    # Two folds of 40 rows everywhere: one compiled shape for every fit.
    scores = cross_val_score(pipe, df, y, cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    grid = GridSearchCV(pipe, {"barycenterrepair__t": [0.0, 1.0]}, cv=2).fit(
        df, y
    )
    assert grid.best_params_["barycenterrepair__t"] in (0.0, 1.0)
    cloned = clone(BarycenterRepair(sensitive_feature_ids=[0], t=0.3))
    assert cloned.get_params()["t"] == 0.3
    assert not hasattr(cloned, "repair_")
    # Predicting sex from the repaired columns: near chance after repair.
    sex = (df["sex"] == "Male").to_numpy().astype(int)
    probe = make_pipeline(
        BarycenterRepair(sensitive_feature_ids=["sex"]), LogisticRegression()
    ).fit(df, sex)
    proba = probe.predict_proba(df)[:, 1]
    assert abs(proba[sex == 1].mean() - proba[sex == 0].mean()) < 0.1


def test_options_reach_the_method():
    df = _frame()
    est = BarycenterRepair(
        sensitive_feature_ids=["sex"], options={"ridge": 0.5}
    ).fit(df)
    plain = BarycenterRepair(sensitive_feature_ids=["sex"]).fit(df)
    assert est.repair_.options == (("ridge", 0.5),)
    assert not np.allclose(est.transform(df), plain.transform(df))
    with pytest.raises(ValueError, match="options"):
        BarycenterRepair(
            sensitive_feature_ids=["sex"], options={"nope": 1}
        ).fit(df)


def test_z_col_alias_and_errors():
    df = _frame()
    with pytest.warns(FutureWarning, match="sensitive_feature_ids"):
        old = BarycenterRepair(z_col="sex").fit(df)  # was a TypeError
    new = BarycenterRepair(sensitive_feature_ids=["sex"]).fit(df)
    with pytest.warns(FutureWarning):
        np.testing.assert_array_equal(old.transform(df), new.transform(df))
    with pytest.raises(ValueError, match="sensitive_feature_ids.*'gender'"):
        BarycenterRepair(sensitive_feature_ids=["gender"]).fit(df)
    with pytest.raises(ValueError, match="sensitive_feature_ids.*position"):
        BarycenterRepair(sensitive_feature_ids=[7]).fit(df)
    with pytest.raises(ValueError, match="only sensitive_feature_ids"):
        BarycenterRepair(sensitive_feature_ids=[1], z_col=1).fit(df)
    other = df.assign(sex=np.where(df["sex"] == "Male", "Male", "Other"))
    with pytest.raises(ValueError, match=r"z .*\['Other'\]"):
        new.transform(other)
    x, z = _data()
    with pytest.raises(ValueError, match="z"):
        BarycenterRepair().fit(x)
    with pytest.raises(ValueError, match="fit"):
        BarycenterRepair().transform(x, z)
    with pytest.raises(ValueError, match="bogus"):
        BarycenterRepair().set_params(bogus=1)
    with pytest.raises(ValueError, match="method"):
        BarycenterRepair(method="nope").fit(x, z)
    with pytest.raises(ValueError, match="X: expected numbers"):
        BarycenterRepair(sensitive_feature_ids=["age"]).fit(df)
