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


def test_is_the_mean_of_the_folds_aucs():
    x, z = data(0.5)
    got = audit.strict_leakage_auc(x, z, model="logistic", folds=4, seed=3)
    cv = StratifiedKFold(4, shuffle=True, random_state=3)
    p = cross_val_predict(
        LogisticRegression(max_iter=2000), x, z, cv=cv, method="predict_proba"
    )[:, 1]
    per_fold = [roc_auc_score(z[te], p[te]) for _, te in cv.split(x, z)]
    assert got == pytest.approx(np.mean(per_fold))
    assert got > 0.6


def test_a_repair_onto_one_point_reads_exactly_chance():
    # Every row repaired to the same point: nothing can be read. Pooling
    # the folds' out-of-fold scores reads below chance (each fold's auditor
    # learnt the complement of its held-out group mix); the strict AUC,
    # one AUC per fold then averaged, is exactly 0.5.
    z = np.array([0] * 47 + [1] * 53)
    x = np.ones((100, 2))
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    p = cross_val_predict(
        LogisticRegression(), x, z, cv=cv, method="predict_proba"
    )[:, 1]
    assert roc_auc_score(z, p) < 0.49
    assert audit.strict_leakage_auc(x, z, model="logistic") == 0.5
    got = audit.feature_audit(x, z, x, z)
    assert (got.auc_logistic, got.auc_boosting) == (0.5, 0.5)


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
