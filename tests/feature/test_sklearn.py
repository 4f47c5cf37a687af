import numpy as np
import pytest

from jaxunlearn import feature
from jaxunlearn.feature import BarycenterRepair


def _data():
    rs = np.random.RandomState(0)
    x = np.concatenate([rs.randn(50, 2), rs.randn(50, 2) * 2 + 1]).astype(
        np.float32
    )
    z = np.r_[np.zeros(50, int), np.ones(50, int)]
    return x, z


def test_wrapper_matches_functional_api():
    x, z = _data()
    est = BarycenterRepair(method="gaussian", t=0.5)
    out = est.fit_transform(x, z)
    want = feature.transform(feature.fit(x, z), x, z, t=0.5)
    np.testing.assert_allclose(out, want, rtol=1e-6)
    assert isinstance(out, np.ndarray)
    back = BarycenterRepair().fit(x, z)
    np.testing.assert_allclose(
        back.inverse_transform(back.transform(x, z), z), x, atol=1e-4
    )


def test_in_sklearn_pipeline_with_z_column():
    sklearn = pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    x, z = _data()
    xz = np.concatenate([x, z[:, None].astype(np.float32)], axis=1)
    pipe = make_pipeline(BarycenterRepair(z_col=-1), LogisticRegression())
    pipe.fit(xz, z)  # predicting z from the repaired features
    proba = pipe.predict_proba(xz)[:, 1]
    # After repair the groups share mean and covariance: a linear model
    # cannot tell them apart much better than chance.
    assert abs(proba[z == 1].mean() - proba[z == 0].mean()) < 0.1
    cloned = clone(BarycenterRepair(method="quantile", t=0.3))
    assert cloned.get_params()["t"] == 0.3 and sklearn.__version__


def test_wrapper_errors():
    x, z = _data()
    with pytest.raises(ValueError, match="z"):
        BarycenterRepair().fit(x)
    with pytest.raises(ValueError, match="fit"):
        BarycenterRepair().transform(x, z)
    with pytest.raises(ValueError, match="bogus"):
        BarycenterRepair().set_params(bogus=1)
    with pytest.raises(ValueError, match="method"):
        BarycenterRepair(method="nope").fit(x, z)
