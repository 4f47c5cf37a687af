"""Feature-leakage audit: AUCs, MI bound, utility, distortion, path."""

import numpy as np
import pytest

from jaxunlearn import audit


def _data(seed=0, n=600, shift=0.0):
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 2)) + shift * z[:, None]
    return x, z


def test_auc_independent_and_separated():
    x, z = _data(shift=0.0)
    auc = audit.leakage_auc(x[:400], z[:400], x[400:], z[400:])
    # Null AUC of 200 held-out rows: sd ~ 0.04; 4 sd band.
    assert abs(auc - 0.5) < 0.16
    x, z = _data(shift=6.0)
    assert audit.leakage_auc(x[:400], z[:400], x[400:], z[400:]) > 0.99


def test_boosting_sees_nonlinear_leakage():
    rng = np.random.default_rng(1)
    n = 1200
    x = rng.uniform(-1, 1, size=(n, 2))
    z = ((x[:, 0] * x[:, 1]) > 0).astype(int)  # XOR: no linear signal
    lin = audit.leakage_auc(x[:800], z[:800], x[800:], z[800:])
    gb = audit.leakage_auc(x[:800], z[:800], x[800:], z[800:], model="boosting")
    assert lin < 0.65 and gb > 0.9


def test_multiclass_auc():
    rng = np.random.default_rng(2)
    z = rng.integers(0, 3, 900)
    x = rng.normal(size=(900, 2)) + 4.0 * np.eye(3)[z][:, :2]
    auc = audit.leakage_auc(x[:600], z[:600], x[600:], z[600:])
    assert 0.8 < auc <= 1.0


def test_mi_bound():
    x, z = _data(shift=0.0)
    null = audit.leakage_mi(
        x[:400], z[:400], x[400:], z[400:], models=("logistic",)
    )
    assert null < 0.05
    x, z = _data(shift=10.0)
    mi = audit.leakage_mi(
        x[:400], z[:400], x[400:], z[400:], models=("logistic",)
    )
    p = z[400:].mean()
    h = -(p * np.log(p) + (1 - p) * np.log(1 - p))
    assert h - 0.05 < mi <= h + 1e-9


def test_distortion_and_accuracy():
    assert audit.repair_distortion(
        [[0.0, 0.0], [1.0, 1.0]], [[3, 4], [1, 1]]
    ) == (12.5)
    x, y = _data(shift=5.0)
    acc = audit.downstream_accuracy(x[:400], y[:400], x[400:], y[400:])
    assert acc > 0.95


def test_feature_audit_and_path():
    x, z = _data(shift=2.0, seed=3, n=700)
    y = (x[:, 0] > 1.0).astype(int)

    def fn(t):
        xr = x - t * 2.0 * z[:, None]
        return xr[:400], xr[400:]

    path = audit.feature_audit_path(
        fn,
        [0.0, 1.0],
        z[:400],
        z[400:],
        y_train=y[:400],
        y_test=y[400:],
        x_train=x[:400],
    )
    assert path[0].auc_logistic > 0.8 > path[1].auc_logistic + 0.2
    assert path[0].distortion == 0.0
    assert path[1].distortion == pytest.approx(4.0 * 2 * z[:400].mean())
    assert path[0].mi > path[1].mi
    assert 0.0 <= path[1].accuracy <= 1.0
    a = audit.feature_audit(x[:400], z[:400], x[400:], z[400:])
    assert np.isnan(a.accuracy) and np.isnan(a.distortion)


def test_bad_input():
    x, z = _data()
    with pytest.raises(ValueError, match="model"):
        audit.leakage_auc(x, z, x, z, model="forest")
    with pytest.raises(ValueError, match="one label per row"):
        audit.leakage_auc(x, z[:-1], x, z)
    with pytest.raises(ValueError, match="two groups"):
        audit.leakage_auc(x, np.zeros_like(z), x, z)
    with pytest.raises(ValueError, match="both targets"):
        audit.feature_audit(x, z, x, z, y_train=z)
    with pytest.raises(ValueError, match="shape of x"):
        audit.repair_distortion(x, x[:-1])
    with pytest.raises(ValueError, match=r"ts: expected values in \[0, 1\]"):
        audit.feature_audit_path(lambda t: (x, x), [2.0], z, z)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        audit.leakage_auc(bad, z, x, z)


def test_strict_audit_sees_a_leak_the_insample_auditor_misses():
    # A "repair" whose fitted rows carry no Z (training rows: one law for
    # both groups) but whose held-out rows still carry it: an auditor
    # trained in-sample learns nothing to read; the strict audit, trained
    # and scored on the held-out rows, reads it.
    rng = np.random.default_rng(4)
    base = rng.normal(size=(200, 2))
    x_tr = np.concatenate([base, base])  # the same rows in both groups
    z_tr = np.repeat([0, 1], 200)
    z_te = rng.integers(0, 2, 400)
    x_te = rng.normal(size=(400, 2)) + 2.0 * z_te[:, None]
    a = audit.feature_audit(x_tr, z_tr, x_te, z_te)
    assert a.auc_logistic > 0.85 and a.auc_boosting > 0.8
    assert abs(a.insample_auc_logistic - 0.5) < 0.05 and a.mi > 0.2
    assert set(a.auditors) == {"logistic", "boosting"}


def test_strict_audit_takes_classifier_objects():
    from sklearn.neighbors import KNeighborsClassifier

    x, z = _data(shift=3.0, n=500)
    a = audit.feature_audit(
        x[:250],
        z[:250],
        x[250:],
        z[250:],
        auditors={"knn": KNeighborsClassifier(15)},
        folds=3,
    )
    assert a.auditors["knn"] > 0.9
    with pytest.raises(TypeError, match="auditors"):
        audit.feature_audit(x, z, x, z, auditors={"bad": object()})
    with pytest.raises(TypeError, match="auditors"):
        audit.feature_audit(x, z, x, z, auditors=["logistic"])
    with pytest.raises(ValueError, match="folds"):
        audit.feature_audit(x, z, x, z, folds=1)
    with pytest.raises(ValueError, match="z_test"):
        audit.feature_audit(x, z, x, np.zeros_like(z))
