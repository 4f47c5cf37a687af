r"""Audit of a feature repair: can Z still be read from the repaired features?

The strict protocol, the default everywhere: fit the repair on training rows
only, repair held-out rows, and train **and** score each Z auditor by
stratified K-fold cross-validation on those repaired held-out rows. An
auditor trained on the in-sample repaired training rows (whose group laws
are equal by construction for a barycenter repair) misses a repair whose
extension to new rows leaks; it is reported only as a labelled extra.

* leakage AUC: ROC AUC of Z predicted by a logistic regression (linear
  auditor), by histogram gradient boosting (nonlinear auditor), or by any
  scikit-learn classifier given; 0.5 means no leakage. For more than two
  groups, the prevalence-weighted one-vs-rest AUC. Under the strict
  protocol, the mean of the K folds' AUCs (a pooled out-of-fold AUC is
  biased below 0.5).
* leakage MI: the variational lower bound
  :math:`I(\hat X; Z) \ge H(Z) - \mathrm{CE}`, with :math:`H(Z)` the
  held-out entropy of Z and CE the held-out cross-entropy of the auditor's
  probabilities (nats, clipped at 0; the best auditor's).
* utility: held-out accuracy of a downstream target Y by a logistic
  regression fitted on repaired training rows.
* distortion: :math:`\mathbb{E}\|X - \hat X\|^2` per row.

scikit-learn is imported lazily (the ``test`` / ``data`` extras).

References:
  Xu & Strohmer, "Machine Unlearning via Information Theoretic
  Regularization", 2025. https://arxiv.org/abs/2502.05684
  Barber & Agakov, "The IM algorithm: a variational approach to information
  maximization", NeurIPS 2003.
  Feldman, Friedler, Moeller, Scheidegger & Venkatasubramanian, "Certifying
  and removing disparate impact", KDD 2015.
  https://arxiv.org/abs/1412.3756
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
from jaxtyping import ArrayLike, Float

from jaxunlearn import _checks

AUDITORS = ("logistic", "boosting")


def _model(kind: str, seed: int):
    _checks.check_choice("model", kind, AUDITORS)
    if kind == "logistic":
        from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

        return LogisticRegression(max_iter=2000)
    from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: PLC0415

    return HistGradientBoostingClassifier(random_state=seed)


def _xz(name: str, x: ArrayLike, z: ArrayLike) -> tuple:
    x = np.asarray(x, np.float64)
    z = np.asarray(z)
    if x.ndim != 2:
        raise ValueError(f"{name}: expected rank 2 ``[n, d]``, got {x.shape}")
    if z.shape != (x.shape[0],):
        raise ValueError(
            f"{name}: expected one label per row ({x.shape[0]}), got labels"
            f" of shape {z.shape}"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name}: expected finite values, got NaN/Inf")
    return x, z


def _fit_proba(kind, x_train, z_train, x_test, seed):
    model = _model(kind, seed)
    model.fit(x_train, z_train)
    return model.classes_, model.predict_proba(x_test)


def _auc(classes, proba, z_test) -> float:
    from sklearn.metrics import roc_auc_score  # noqa: PLC0415

    if classes.size == 2:
        return float(roc_auc_score(z_test == classes[1], proba[:, 1]))
    present = np.isin(classes, z_test)
    aucs, prev = [], []
    for c in np.nonzero(present)[0]:
        pos = z_test == classes[c]
        if pos.all():
            continue
        aucs.append(roc_auc_score(pos, proba[:, c]))
        prev.append(pos.mean())
    return float(np.average(aucs, weights=prev))


def leakage_auc(
    x_train: Float[ArrayLike, "n d"],
    z_train: ArrayLike,
    x_test: Float[ArrayLike, "m d"],
    z_test: ArrayLike,
    *,
    model: str = "logistic",
    seed: int = 0,
) -> float:
    """Held-out AUC of Z predicted from (repaired) features.

    Args:
      x_train: auditor training rows ``[n, d]``.
      z_train: their labels ``[n]``.
      x_test: held-out rows ``[m, d]``.
      z_test: their labels ``[m]``.
      model: ``"logistic"`` or ``"boosting"``.
      seed: random state of the boosting auditor.

    Returns:
      The AUC (prevalence-weighted one-vs-rest for more than two groups).

    Raises:
      ValueError: bad shapes, non-finite rows, unknown ``model``, fewer
        than two labels in ``z_train``.

    Examples:
      >>> import numpy as np
      >>> rng = np.random.default_rng(0)
      >>> z = rng.integers(0, 2, 400); x = rng.normal(size=(400, 2))
      >>> 0.4 < leakage_auc(x[:200], z[:200], x[200:], z[200:]) < 0.6
      True
    """
    x_train, z_train = _xz("x_train", x_train, z_train)
    x_test, z_test = _xz("x_test", x_test, z_test)
    _checks.check_choice("model", model, AUDITORS)
    if np.unique(z_train).size < 2:
        raise ValueError("z_train: expected at least two groups, got one")
    classes, proba = _fit_proba(model, x_train, z_train, x_test, seed)
    return _auc(classes, proba, z_test)


def strict_leakage_auc(
    x_hat: Float[ArrayLike, "m d"],
    z: ArrayLike,
    *,
    model: Any = "boosting",
    folds: int = 5,
    seed: int = 0,
) -> float:
    """AUC of Z by K-fold cross-validation on repaired rows the fit never saw.

    The strict audit: fit the repair on training rows only, repair other
    rows, and train **and** score the auditor on those by stratified
    ``folds``-fold cross-validation; the AUC is the mean over folds of
    each fold's auditor scored on its own held-out rows (pooling all
    folds' scores into one AUC reads below 0.5 without any leak, most for
    repairs with few distinct output rows). An auditor trained on the
    in-sample repaired rows, whose group laws are equal by construction,
    misses a repair whose extension to new rows leaks.

    Args:
      x_hat: repaired rows ``[m, d]`` that the repair was not fitted on.
      z: their labels ``[m]`` (any values).
      model: ``"logistic"``, ``"boosting"`` or any scikit-learn classifier
        object with ``predict_proba`` (cloned per fold).
      folds: number of stratified folds (at least 2).
      seed: shuffling of the folds and random state of ``"boosting"``.

    Returns:
      The mean fold AUC (prevalence-weighted one-vs-rest for more than two
      groups).

    Raises:
      ValueError: bad shapes, non-finite rows, unknown ``model`` name,
        ``folds`` below 2 or above the smallest group's size.
      TypeError: ``model`` is neither a name nor a classifier object.

    Examples:
      >>> import numpy as np
      >>> rng = np.random.default_rng(0)
      >>> z = rng.integers(0, 2, 400); x = rng.normal(size=(400, 2))
      >>> 0.4 < strict_leakage_auc(x, z, model="logistic") < 0.6
      True
    """
    x_hat, z = _xz("x_hat", x_hat, z)
    estimator = _estimator("model", model, seed)
    classes = _check_folds(folds, z)
    proba, tests = _cv_proba(estimator, x_hat, z, folds, seed)
    return _fold_auc(classes, proba, z, tests)


def strict_leakage_mi(
    x_hat: Float[ArrayLike, "m d"],
    z: ArrayLike,
    *,
    models: Sequence[Any] = AUDITORS,
    folds: int = 5,
    seed: int = 0,
) -> float:
    r"""Lower bound on :math:`I(\hat X; Z)` in nats, by the strict protocol.

    :math:`\max_q \{H(Z) - \mathrm{CE}(q)\}` over the auditors in
    ``models``, each trained and scored by stratified ``folds``-fold
    cross-validation on repaired rows the repair never saw (as in
    :func:`strict_leakage_auc`), clipped at 0.

    Args:
      x_hat: repaired rows ``[m, d]`` that the repair was not fitted on.
      z: their labels ``[m]``.
      models: auditor names (``"logistic"``, ``"boosting"``) or
        scikit-learn classifier objects with ``predict_proba``.
      folds: number of stratified folds.
      seed: fold shuffling and random state of ``"boosting"``.

    Returns:
      The estimate (nats, >= 0).

    Raises:
      ValueError: bad shapes, unknown names, a bad ``folds``.
      TypeError: a model that is neither a name nor a classifier.

    Examples:
      >>> import numpy as np
      >>> rng = np.random.default_rng(0)
      >>> z = rng.integers(0, 2, 400); x = rng.normal(size=(400, 2))
      >>> strict_leakage_mi(x, z, models=["logistic"]) < 0.02
      True
    """
    x_hat, z = _xz("x_hat", x_hat, z)
    classes = _check_folds(folds, z)
    h_z, best = _entropy(z), 0.0
    for m in models:
        est = _estimator("models", m, seed)
        proba, _ = _cv_proba(est, x_hat, z, folds, seed)
        best = max(best, h_z - _cross_entropy(classes, proba, z))
    return best


def leakage_mi(
    x_train: Float[ArrayLike, "n d"],
    z_train: ArrayLike,
    x_test: Float[ArrayLike, "m d"],
    z_test: ArrayLike,
    *,
    models: Sequence[str] = AUDITORS,
    seed: int = 0,
) -> float:
    r"""Variational lower bound on :math:`I(\hat X; Z)` in nats.

    :math:`\max_{q} \{H(Z) - \mathbb{E}[-\log q(Z \mid \hat X)]\}` over the
    auditors in ``models`` (fitted on training rows, scored on held-out
    rows), clipped at 0. Any probabilistic classifier gives a valid lower
    bound up to held-out sampling error; a better auditor, a tighter one.

    Args:
      x_train: auditor training rows ``[n, d]``.
      z_train: their labels ``[n]``.
      x_test: held-out rows ``[m, d]``.
      z_test: their labels ``[m]``.
      models: auditors to try (``"logistic"``, ``"boosting"``).
      seed: random state of the boosting auditor.

    Returns:
      The estimate (nats, >= 0).

    Raises:
      ValueError: bad shapes, non-finite rows, unknown model names.

    References:
      Barber & Agakov, "The IM algorithm", NeurIPS 2003.
    """
    x_train, z_train = _xz("x_train", x_train, z_train)
    x_test, z_test = _xz("x_test", x_test, z_test)
    for m in models:
        _checks.check_choice("models", m, AUDITORS)
    labels, counts = np.unique(z_test, return_counts=True)
    p = counts / counts.sum()
    h_z = float(-np.sum(p * np.log(p)))
    best = 0.0
    for m in models:
        classes, proba = _fit_proba(m, x_train, z_train, x_test, seed)
        col = np.searchsorted(classes, z_test)
        col = np.clip(col, 0, classes.size - 1)
        known = classes[col] == z_test
        q = np.where(known, proba[np.arange(z_test.size), col], 0.0)
        tiny = np.finfo(np.float64).tiny
        ce = float(np.mean(-np.log(np.maximum(q, tiny))))
        best = max(best, h_z - ce)
    return best


def downstream_accuracy(
    x_train: Float[ArrayLike, "n d"],
    y_train: ArrayLike,
    x_test: Float[ArrayLike, "m d"],
    y_test: ArrayLike,
) -> float:
    """Held-out accuracy of a target Y by logistic regression.

    Args:
      x_train: training rows ``[n, d]`` (repaired).
      y_train: their targets ``[n]``.
      x_test: held-out rows ``[m, d]`` (repaired).
      y_test: their targets ``[m]``.

    Returns:
      The accuracy in ``[0, 1]``.

    Raises:
      ValueError: bad shapes or non-finite rows.
    """
    x_train, y_train = _xz("x_train", x_train, y_train)
    x_test, y_test = _xz("x_test", x_test, y_test)
    model = _model("logistic", 0)
    model.fit(x_train, y_train)
    return float(np.mean(model.predict(x_test) == y_test))


def repair_distortion(
    x: Float[ArrayLike, "n d"], x_hat: Float[ArrayLike, "n d"]
) -> float:
    r"""Mean squared displacement :math:`\frac1n \sum_i \|x_i - \hat x_i\|^2`.

    Args:
      x: original rows ``[n, d]``.
      x_hat: repaired rows ``[n, d]``.

    Returns:
      The distortion (float).

    Raises:
      ValueError: mismatched shapes.

    Examples:
      >>> repair_distortion([[0.0, 0.0]], [[3.0, 4.0]])
      25.0
    """
    x = np.asarray(x, np.float64)
    x_hat = np.asarray(x_hat, np.float64)
    if x.shape != x_hat.shape or x.ndim != 2:
        raise ValueError(
            f"x_hat: expected the shape of x {x.shape}, got {x_hat.shape}"
        )
    return float(np.mean(np.sum((x - x_hat) ** 2, axis=1)))


def _estimator(name: str, model: Any, seed: int):
    from sklearn.base import clone  # noqa: PLC0415

    if isinstance(model, str):
        return _model(model, seed)
    if hasattr(model, "fit") and hasattr(model, "predict_proba"):
        return clone(model)
    raise TypeError(
        f"{name}: expected 'logistic', 'boosting' or a scikit-learn"
        f" classifier with predict_proba, got {type(model).__name__}"
    )


def _check_folds(folds: Any, z: np.ndarray, name: str = "z") -> np.ndarray:
    classes, counts = np.unique(z, return_counts=True)
    if classes.size < 2:
        raise ValueError(f"{name}: expected at least two groups, got one")
    if (
        isinstance(folds, bool)
        or not isinstance(folds, int)
        or not 2 <= folds <= counts.min()
    ):
        raise ValueError(
            f"folds: expected an int in [2, {int(counts.min())}] (the"
            f" smallest group's size), got {folds!r}"
        )
    return classes


def _cv_proba(estimator, x, z, folds: int, seed: int) -> tuple:
    """Out-of-fold probabilities and the held-out indices of each fold."""
    from sklearn.model_selection import (  # noqa: PLC0415
        StratifiedKFold,
        cross_val_predict,
    )

    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    proba = cross_val_predict(estimator, x, z, cv=cv, method="predict_proba")
    return proba, [test for _, test in cv.split(x, z)]


def _fold_auc(classes, proba, z, tests) -> float:
    """Mean over folds of each fold's AUC of its own held-out rows.

    Pooling the out-of-fold scores of all folds into one AUC is biased
    below 0.5 when Z cannot be read: each fold's auditor learnt from the
    other folds, whose group mix among rows alike is the complement of the
    held-out fold's, so across folds scores and groups anti-correlate (most
    visibly for repairs with few distinct output rows). Each fold's AUC
    compares scores of one auditor on rows it never saw and is unbiased.

    References:
      Forman & Scholz, "Apples-to-apples in cross-validation studies:
      pitfalls in classifier performance measurement", SIGKDD Explorations
      12(1), 2010.
      Airola, Pahikkala, Waegeman, De Baets & Salakoski, "An experimental
      comparison of cross-validation techniques for estimating the area
      under the ROC curve", Computational Statistics & Data Analysis 55(4),
      2011.
    """
    return float(np.mean([_auc(classes, proba[t], z[t]) for t in tests]))


def _cross_entropy(classes, proba, z) -> float:
    tiny = np.finfo(np.float64).tiny
    col = np.clip(np.searchsorted(classes, z), 0, classes.size - 1)
    q = np.where(classes[col] == z, proba[np.arange(z.size), col], 0.0)
    return float(np.mean(-np.log(np.maximum(q, tiny))))


def _entropy(z) -> float:
    _, counts = np.unique(z, return_counts=True)
    p = counts / counts.sum()
    return float(-np.sum(p * np.log(p)))
