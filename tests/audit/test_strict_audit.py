"""The strict audit: K-fold AUC of Z on repaired rows the fit never saw."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.tree import DecisionTreeClassifier

from jaxunlearn import audit


def data(shift, n=600, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 3)) + shift * z[:, None]
    return x, z


def test_matches_sklearn_cross_val_predict():
    x, z = data(0.5)
    got = audit.strict_leakage_auc(x, z, model="logistic", folds=4, seed=3)
    cv = StratifiedKFold(4, shuffle=True, random_state=3)
    p = cross_val_predict(
        LogisticRegression(max_iter=2000), x, z, cv=cv, method="predict_proba"
    )[:, 1]
    assert got == pytest.approx(roc_auc_score(z, p))
    assert got > 0.6


def test_chance_without_signal_and_any_classifier_object():
    x, z = data(0.0)
    assert abs(audit.strict_leakage_auc(x, z) - 0.5) < 0.08
    tree = DecisionTreeClassifier(max_depth=3, random_state=0)
    x, z = data(1.0)
    assert audit.strict_leakage_auc(x, z, model=tree) > 0.7
    assert not hasattr(tree, "classes_")  # the object passed is cloned


def test_string_labels_and_three_groups():
    rng = np.random.default_rng(1)
    z = rng.choice(np.array(["a", "b", "c"]), 900)
    x = rng.normal(size=(900, 2)) + (z == "c")[:, None] * 2.0
    auc = audit.strict_leakage_auc(x, z, model="logistic")
    assert 0.6 < auc < 1.0


def test_bad_input():
    x, z = data(0.5, n=40)
    with pytest.raises(TypeError, match="model"):
        audit.strict_leakage_auc(x, z, model=object())
    with pytest.raises(ValueError, match="model"):
        audit.strict_leakage_auc(x, z, model="forest")
    with pytest.raises(ValueError, match="folds"):
        audit.strict_leakage_auc(x, z, folds=1)
    with pytest.raises(ValueError, match="z"):
        audit.strict_leakage_auc(x, np.zeros(40))
    bad = x.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="x_hat"):
        audit.strict_leakage_auc(bad, z)
