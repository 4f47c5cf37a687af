"""The strict audit of a feature repair, one repair level or a path of them.

See :mod:`jaxunlearn.audit._feature` for the protocol and the figures:
every Z auditor is trained and scored by stratified K-fold
cross-validation on repaired held-out rows the repair never saw.

References:
  Xu & Strohmer, "Machine Unlearning via Information Theoretic
  Regularization", 2025. https://arxiv.org/abs/2502.05684
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from jaxtyping import ArrayLike, Float

from jaxunlearn import _checks
from jaxunlearn.audit._feature import (
    AUDITORS,
    _auc,
    _check_folds,
    _cross_entropy,
    _cv_proba,
    _entropy,
    _estimator,
    _fit_proba,
    _fold_auc,
    _xz,
    downstream_accuracy,
    repair_distortion,
)


class FeatureAudit(NamedTuple):
    r"""Audit figures of one repaired data set (floats).

    The Z figures follow the strict protocol: each auditor is trained and
    scored by stratified K-fold cross-validation on repaired held-out rows
    that the repair was never fitted on. The ``insample_*`` figures are the
    weaker protocol, kept as a labelled extra: an auditor trained on the
    in-sample repaired training rows (whose group laws are equal by
    construction for a barycenter repair) and scored on the held-out rows.

    Attributes:
      auc_logistic: strict AUC of Z by logistic regression.
      auc_boosting: strict AUC of Z by gradient boosting.
      mi: lower bound on :math:`I(\hat X; Z)` in nats from the strict
        (cross-validated) probabilities, the better auditor's.
      accuracy: held-out accuracy of Y by logistic regression (NaN when no
        target was given).
      distortion: mean :math:`\|X - \hat X\|^2` over training rows (NaN
        when the original rows were not given).
      insample_auc_logistic: AUC of Z by logistic regression trained on the
        in-sample repaired training rows (weaker protocol).
      insample_auc_boosting: the same for gradient boosting.
      auditors: strict AUC of every auditor by name, those given in
        ``auditors=`` included.
    """

    auc_logistic: float
    auc_boosting: float
    mi: float
    accuracy: float
    distortion: float
    insample_auc_logistic: float
    insample_auc_boosting: float
    auditors: dict


def feature_audit(
    x_train_hat: Float[ArrayLike, "n d"],
    z_train: ArrayLike,
    x_test_hat: Float[ArrayLike, "m d"],
    z_test: ArrayLike,
    *,
    y_train: ArrayLike | None = None,
    y_test: ArrayLike | None = None,
    x_train: Float[ArrayLike, "n d"] | None = None,
    auditors: Mapping[str, Any] | None = None,
    folds: int = 5,
    seed: int = 0,
) -> FeatureAudit:
    """Audits one repair under the strict protocol (see :class:`FeatureAudit`).

    Fit the repair on training rows only and pass the repaired held-out rows
    as ``x_test_hat``: every Z auditor is trained **and** scored on them by
    stratified ``folds``-fold cross-validation, so it never sees a row the
    repair was fitted on. The auditor trained on the repaired training rows
    is reported apart (``insample_*``), as the weaker protocol.

    Args:
      x_train_hat: repaired training rows ``[n, d]`` (the repair's fit).
      z_train: their groups ``[n]``.
      x_test_hat: repaired held-out rows ``[m, d]``, not used by the fit.
      z_test: their groups ``[m]``.
      y_train: training targets ``[n]`` for the utility; None skips it.
      y_test: held-out targets ``[m]``.
      x_train: original training rows ``[n, d]`` for the distortion; None
        skips it.
      auditors: more Z auditors by name: scikit-learn classifiers with
        ``predict_proba`` (cloned per fold), reported in ``auditors`` and
        counted in ``mi``.
      folds: number of stratified folds of the strict audit (at least 2,
        at most the smallest group's size in ``z_test``).
      seed: fold shuffling and random state of the boosting auditor.

    Returns:
      A :class:`FeatureAudit`.

    Raises:
      ValueError: bad shapes, only one of ``y_train`` / ``y_test``, a bad
        ``folds``.
      TypeError: an entry of ``auditors`` that is not a classifier.

    Examples:
      >>> import numpy as np
      >>> rng = np.random.default_rng(0)
      >>> z = rng.integers(0, 2, 600); x = rng.normal(size=(600, 2))
      >>> a = feature_audit(x[:300] + z[:300, None], z[:300], x[300:], z[300:])
      >>> 0.4 < a.auc_logistic < 0.6 and 0.4 < a.auc_boosting < 0.6
      True
    """
    x_tr, z_tr = _xz("x_train_hat", x_train_hat, z_train)
    x_te, z_te = _xz("x_test_hat", x_test_hat, z_test)
    if (y_train is None) != (y_test is None):
        raise ValueError("y_train, y_test: give both targets or neither")
    if np.unique(z_tr).size < 2:
        raise ValueError("z_train: expected at least two groups, got one")
    classes = _check_folds(folds, z_te, "z_test")
    models = {kind: kind for kind in AUDITORS}
    if auditors is not None:
        if not isinstance(auditors, Mapping):
            raise TypeError(
                "auditors: expected a mapping name -> classifier, got"
                f" {type(auditors).__name__}"
            )
        models.update(auditors)
    h_z = _entropy(z_te)
    aucs, mi = {}, 0.0
    for name, model in models.items():
        est = _estimator(f"auditors[{name!r}]", model, seed)
        proba, tests = _cv_proba(est, x_te, z_te, folds, seed)
        aucs[name] = _fold_auc(classes, proba, z_te, tests)
        mi = max(mi, h_z - _cross_entropy(classes, proba, z_te))
    insample = {
        kind: _auc(*_fit_proba(kind, x_tr, z_tr, x_te, seed), z_te)
        for kind in AUDITORS
    }
    acc = (
        float("nan")
        if y_train is None
        else downstream_accuracy(x_tr, y_train, x_te, y_test)
    )
    dist = (
        float("nan")
        if x_train is None
        else repair_distortion(x_train, x_train_hat)
    )
    return FeatureAudit(
        aucs["logistic"],
        aucs["boosting"],
        mi,
        acc,
        dist,
        insample["logistic"],
        insample["boosting"],
        aucs,
    )


def feature_audit_path(
    repair_fn: Callable[[float], tuple],
    ts: Sequence[float],
    z_train: ArrayLike,
    z_test: ArrayLike,
    *,
    y_train: ArrayLike | None = None,
    y_test: ArrayLike | None = None,
    x_train: Float[ArrayLike, "n d"] | None = None,
    auditors: Mapping[str, Any] | None = None,
    folds: int = 5,
    seed: int = 0,
) -> list[FeatureAudit]:
    """Audits a repair along the partial-repair path ``t``.

    Args:
      repair_fn: ``t -> (x_train_hat, x_test_hat)``.
      ts: repair strengths, each in ``[0, 1]``.
      z_train: training groups ``[n]``.
      z_test: held-out groups ``[m]``.
      y_train: training targets ``[n]``; None skips the utility.
      y_test: held-out targets ``[m]``.
      x_train: original training rows for the distortion; None skips it.
      auditors: more Z auditors by name (see :func:`feature_audit`).
      folds: folds of the strict audit.
      seed: fold shuffling and random state of the boosting auditor.

    Returns:
      One :class:`FeatureAudit` per ``t`` (strict protocol).

    Raises:
      ValueError: a ``t`` outside ``[0, 1]``.

    Examples:
      >>> import numpy as np
      >>> rng = np.random.default_rng(0)
      >>> z = rng.integers(0, 2, 300); x = rng.normal(size=(300, 2))
      >>> x = x + z[:, None]
      >>> shift = lambda t, s: x[s] - t * z[s, None]
      >>> fn = lambda t: (shift(t, slice(200)), shift(t, slice(200, None)))
      >>> path = feature_audit_path(fn, [0.0, 1.0], z[:200], z[200:])
      >>> path[0].auc_logistic > 0.7 and path[1].auc_logistic < 0.65
      True
    """
    out = []
    for t in ts:
        _checks.check_unit_interval("ts", t)
        tr, te = repair_fn(t)
        out.append(
            feature_audit(
                tr,
                z_train,
                te,
                z_test,
                y_train=y_train,
                y_test=y_test,
                x_train=x_train,
                auditors=auditors,
                folds=folds,
                seed=seed,
            )
        )
    return out
