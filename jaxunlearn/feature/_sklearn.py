"""Feature repair as a scikit-learn transformer (needs scikit-learn).

:class:`BarycenterRepair` reads the sensitive attribute from column(s) of
``X`` given by name or position, as fairlearn's ``CorrelationRemover``
does, repairs the other columns with :func:`jaxunlearn.feature.fit` /
:func:`jaxunlearn.feature.transform` and drops the sensitive column(s) from
its output. It is a ``TransformerMixin, BaseEstimator``: ``clone``,
``Pipeline``, ``GridSearchCV``, ``cross_val_score``, ``set_output`` and
``get_feature_names_out`` work, and it passes scikit-learn's estimator
checks except those listed in :data:`EXPECTED_FAILED_CHECKS`.
"""

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

import jax

from jaxunlearn.feature._repair import (
    FittedRepair,
    fit,
    inverse_transform,
    transform,
)

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn

    def _validate_data(est, X, *, reset, skip_check_array):  # noqa: N803
        del skip_check_array
        return est._validate_data(X, reset=reset, cast_to_ndarray=False)


# Checks of scikit-learn's suite that cannot apply, with the reason (passed
# to ``parametrize_with_checks(..., expected_failed_checks=...)`` in the
# tests and listed in docs/feature.md). The estimator there is
# ``BarycenterRepair(sensitive_feature_ids=[0], method="quantile")``: the
# checks' random float matrices make every row of column 0 its own group.
EXPECTED_FAILED_CHECKS: dict[str, str] = {
    "check_fit_idempotent": (
        "it transforms rows the fit never saw; with a continuous sensitive"
        " column their group values are new, and a group unseen at fit has"
        " no map: transform raises ValueError naming z"
    ),
    "check_dtype_object": (
        "it puts a dict into column 0, the sensitive column, which takes"
        " any sortable values (not only numbers): the error names the"
        " unsortable group values instead of the float conversion"
    ),
}


def _is_frame(x: Any) -> bool:
    return hasattr(x, "columns") and hasattr(x, "iloc")


class BarycenterRepair(TransformerMixin, BaseEstimator):
    """Feature repair as a scikit-learn transformer.

    ``fit(X)`` reads the groups from the sensitive column(s) of ``X`` (any
    values: strings such as ``"Female"`` / ``"Male"``, integers, floats),
    fits the barycenter repair of the other columns, and ``transform(X)``
    returns those columns repaired (``(1 - t) x + t T_z(x)``), the
    sensitive column(s) dropped. ``y`` is ignored, so inside a
    ``Pipeline`` the target passes on to the final estimator. float64
    input is repaired and returned in float64 (under ``jax.enable_x64``),
    float32 in float32, anything else as float64.

    Args:
      sensitive_feature_ids: the sensitive column(s) of ``X``: names
        (``X`` a DataFrame) or positions. With several columns each
        distinct combination is a group. ``None`` reads the groups from the
        second argument of ``fit(X, z)`` / ``transform(X, z)`` instead
        (they are then not part of ``X``).
      method: a registered method (:func:`jaxunlearn.feature.
        available_methods`): ``"gaussian"``, ``"quantile"``, ...
      t: repair amount in ``[0, 1]``.
      weights: barycentric weights, ``[k]`` in the order of ``groups_`` or
        a mapping ``group value -> weight``; ``None`` uses the group
        proportions.
      options: keyword options of the method (e.g. ``{"ridge": 1e-3}`` for
        ``"gaussian"``); see docs/feature.md.
      seed: seed of the key used by randomized methods.
      z_col: deprecated alias of ``sensitive_feature_ids=[z_col]``.

    Attributes:
      repair_: the fitted :class:`jaxunlearn.feature.FittedRepair`.
      groups_: the sorted distinct group values seen at fit ``[k]``.
      sensitive_indices_: positions of the sensitive column(s) in ``X``.
      n_features_in_: columns of ``X`` at fit (sensitive included).
      feature_names_in_: their names, when ``X`` was a DataFrame with
        string column names.
    """

    def __init__(
        self,
        sensitive_feature_ids: Any = None,
        *,
        method: str = "gaussian",
        t: float = 1.0,
        weights: Any = None,
        options: dict[str, Any] | None = None,
        seed: int = 0,
        z_col: Any = None,
    ):
        self.sensitive_feature_ids = sensitive_feature_ids
        self.method = method
        self.t = t
        self.weights = weights
        self.options = options
        self.seed = seed
        self.z_col = z_col

    # ------------------------------------------------------------ tags

    def __sklearn_tags__(self):  # scikit-learn >= 1.6
        """Estimator tags: float32 and float64 are preserved, no NaN.

        Returns:
          The ``sklearn.utils.Tags`` of this transformer.
        """
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.allow_nan = False
        return tags

    def _more_tags(self) -> dict[str, Any]:  # scikit-learn < 1.6
        return {"preserves_dtype": [np.float64, np.float32]}

    # ------------------------------------------------------- the columns

    def _ids(self) -> list[Any] | None:
        if self.z_col is not None:
            if self.sensitive_feature_ids is not None:
                raise ValueError(
                    "z_col: deprecated alias of sensitive_feature_ids; pass"
                    " only sensitive_feature_ids"
                )
            warnings.warn(
                "z_col is deprecated; use sensitive_feature_ids=[z_col]",
                FutureWarning,
                stacklevel=4,
            )
            return [self.z_col]
        ids = self.sensitive_feature_ids
        if ids is None:
            return None
        if isinstance(ids, str | int | np.integer):
            return [ids]
        ids = list(ids)
        if not ids:
            raise ValueError(
                "sensitive_feature_ids: expected at least one column, got an"
                " empty list"
            )
        return ids

    def _resolve(self, X: Any, ids: list[Any]) -> list[int]:  # noqa: N803
        p = X.shape[1]
        columns = list(X.columns) if _is_frame(X) else None
        out = []
        for c in ids:
            if isinstance(c, int | np.integer) and not isinstance(c, bool):
                if p is None or not -p <= int(c) < p:
                    raise ValueError(
                        f"sensitive_feature_ids: position {int(c)} is not a"
                        f" column of X (X has {p} columns)"
                    )
                out.append(int(c) % p)
            elif columns is not None and c in columns:
                out.append(columns.index(c))
            else:
                where = (
                    f"the columns of X are {columns[:20]}"
                    if columns is not None
                    else "X is an array, so name columns by position"
                )
                raise ValueError(
                    f"sensitive_feature_ids: column {c!r} is not in X ({where})"
                )
        if len(set(out)) != len(out) or len(out) >= p:
            raise ValueError(
                f"sensitive_feature_ids: expected distinct columns leaving at"
                f" least one feature, got {ids} for X with n_features = {p}"
            )
        return out

    def _split(self, X: Any, reset: bool):  # noqa: N803
        """``(features float, group values [n] or None, frame index)``."""
        ids = self._ids()
        # The standard checks (2-d, not sparse, not complex, no NaN/Inf,
        # enough rows and columns) on the whole of X, any dtype.
        arr = check_array(
            X,
            dtype=None,
            accept_sparse=False,
            ensure_min_samples=2 if reset else 1,
            # (at transform, validate_data names a wrong column count)
            ensure_min_features=1 if ids is None or not reset else len(ids) + 1,
        )
        # n_features_in_ and feature_names_in_ (set, or checked against).
        _validate_data(self, X, reset=reset, skip_check_array=True)
        if reset:
            self.sensitive_indices_ = (
                []
                if ids is None
                else self._resolve(X if _is_frame(X) else arr, ids)
            )
        sens = self.sensitive_indices_
        index = X.index if _is_frame(X) else None
        if _is_frame(X):
            groups = X.iloc[:, sens] if sens else None
            rest = X.drop(columns=X.columns[sens]) if sens else X
        else:
            groups = arr[:, sens] if sens else None
            rest = np.delete(arr, sens, axis=1) if sens else arr
        try:
            x = check_array(rest, dtype=[np.float64, np.float32])
        except ValueError as err:
            if "could not convert" not in str(err):
                raise
            raise ValueError(
                "X: expected numbers in every column except the sensitive"
                " one(s); encode text columns first (e.g. OneHotEncoder in a"
                " ColumnTransformer) or use jaxunlearn.feature.fit, which"
                f" repairs mixed DataFrames ({err})"
            ) from err
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape[1] == 1:
                groups = groups[:, 0]
            else:
                groups = np.fromiter(
                    (tuple(r) for r in groups.tolist()),
                    dtype=object,
                    count=groups.shape[0],
                )
        return x, groups, index

    def _codes(self, values: Any, name: str) -> np.ndarray:
        values = np.asarray(values)
        if values.ndim != 1 or values.shape[0] == 0:
            raise ValueError(
                f"{name}: expected one group value per row, got shape"
                f" {values.shape}"
            )
        pos = np.searchsorted(self.groups_, values)
        pos = np.clip(pos, 0, len(self.groups_) - 1)
        unseen = self.groups_[pos] != values
        if np.any(unseen):
            bad = sorted({str(v) for v in values[unseen]})[:10]
            raise ValueError(
                f"{name}: group values {bad} were not seen at fit time"
                f" (known: {self.groups_.tolist()[:20]})"
            )
        return pos.astype(np.int32)

    def _groups_of(self, X: Any, z: Any, reset: bool):  # noqa: N803
        x, groups, index = self._split(X, reset)
        if self.sensitive_indices_:
            name = f"z (column(s) {self._ids()} of X)"
        else:
            if z is None:
                raise ValueError(
                    "z: group values are required: set sensitive_feature_ids"
                    " to the column(s) of X holding them, or pass them as"
                    " fit(X, z) / transform(X, z)"
                )
            groups, name = np.asarray(z), "z"
            if groups.shape != (x.shape[0],):
                raise ValueError(
                    f"z: expected one group value per row of X ({x.shape[0]}),"
                    f" got shape {groups.shape}"
                )
        if reset:
            try:
                self.groups_ = np.unique(groups)
            except TypeError as err:
                raise TypeError(
                    f"{name}: expected group values of one sortable type,"
                    f" got a mix ({err})"
                ) from err
        return x, self._codes(groups, name), index

    # ----------------------------------------------------------- fitting

    def fit(self, X: Any, y: Any = None) -> "BarycenterRepair":  # noqa: N803
        """Fits the repair.

        Args:
          X: ``[n, p]`` array or DataFrame, sensitive column(s) included.
          y: ignored when ``sensitive_feature_ids`` is set (the target of a
            ``Pipeline``); otherwise the group values ``[n]``.

        Returns:
          ``self``.

        Raises:
          ValueError: a sensitive column that is not in ``X``, non-numeric
            features, NaN/Inf, fewer than two groups, bad options.
        """
        x, codes, _ = self._groups_of(X, y, reset=True)
        weights = self.weights
        if isinstance(weights, dict):
            weights = self._weight_vector(weights)
        with jax.enable_x64(x.dtype == np.float64):
            self.repair_: FittedRepair = fit(
                x,
                codes,
                method=self.method,
                weights=weights,
                options=self.options,
            )
        self.n_features_out_ = x.shape[1]
        return self

    def _weight_vector(self, weights: dict) -> np.ndarray:
        keys = set(weights)
        known = set(self.groups_.tolist())
        if keys != known:
            raise ValueError(
                f"weights: expected one weight per group {sorted(known)}, got"
                f" keys {sorted(map(str, keys))}"
            )
        return np.array([weights[g] for g in self.groups_.tolist()], float)

    def _apply(self, fn, X: Any, z: Any, **kwargs) -> Any:  # noqa: N803
        check_is_fitted(self, "repair_")
        x, codes, _ = self._groups_of(X, z, reset=False)
        dtype = np.dtype(self.repair_.weights.dtype)
        if x.dtype != dtype:
            x = x.astype(dtype)
        with jax.enable_x64(dtype == np.float64):
            out = fn(
                self.repair_, x, codes, key=jax.random.key(self.seed), **kwargs
            )
            return np.asarray(out)

    def transform(self, X: Any, z: Any = None) -> np.ndarray:  # noqa: N803
        """Repairs rows (seen at fit or not); drops the sensitive columns.

        Args:
          X: ``[n, p]``, the columns seen at fit.
          z: the group values when ``sensitive_feature_ids`` is None.

        Returns:
          The repaired features ``[n, p - s]`` in the dtype of the fit
          (a DataFrame after ``set_output(transform="pandas")``).

        Raises:
          ValueError: unseen group values, other columns than at fit.
        """
        return self._apply(transform, X, z, t=self.t)

    def fit_transform(
        self,
        X: Any,  # noqa: N803
        y: Any = None,
        **fit_params: Any,
    ) -> np.ndarray:
        """Fits, then repairs the same rows.

        Args:
          X: as in :meth:`fit`.
          y: as in :meth:`fit`.
          **fit_params: none are accepted.

        Returns:
          The repaired features, as :meth:`transform`.
        """
        if fit_params:
            raise TypeError(
                f"fit_params: unexpected {sorted(fit_params)} (none taken)"
            )
        z = None if self._ids() is not None else y
        return self.fit(X, y).transform(X, z)

    def inverse_transform(self, X: Any, z: Any) -> np.ndarray:  # noqa: N803
        """Maps fully repaired rows back to their groups' coordinates.

        Only with ``sensitive_feature_ids=None`` (the output has no
        sensitive column to read the groups from): pass them as ``z``.

        Args:
          X: repaired features ``[n, d]``.
          z: group values ``[n]``.

        Returns:
          Features in the groups' coordinates ``[n, d]``.

        Raises:
          ValueError: with ``sensitive_feature_ids`` set, or a method
            without an inverse.
        """
        if self.sensitive_indices_:
            raise ValueError(
                "inverse_transform: the repaired output has no sensitive"
                " column; use jaxunlearn.feature.inverse_transform("
                "est.repair_, x_hat, codes) with codes indexing est.groups_"
            )
        return self._apply(inverse_transform, X, z)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns: the input's minus the sensitive.

        Args:
          input_features: input names (checked against
            ``feature_names_in_``); ``None`` uses ``feature_names_in_`` or
            ``x0, x1, ...``.

        Returns:
          An object array of names ``[p - s]``.

        Raises:
          ValueError: ``input_features`` of the wrong length or names.
        """
        check_is_fitted(self, "repair_")
        names_in = getattr(self, "feature_names_in_", None)
        if input_features is None:
            if names_in is None:
                names_in = [f"x{i}" for i in range(self.n_features_in_)]
            names = list(names_in)
        else:
            names = list(input_features)
            if len(names) != self.n_features_in_:
                raise ValueError(
                    f"input_features should have length equal to number of"
                    f" features ({self.n_features_in_}), got {len(names)}"
                )
            if names_in is not None and names != list(names_in):
                raise ValueError(
                    "input_features is not equal to feature_names_in_"
                )
        drop = set(self.sensitive_indices_)
        return np.asarray(
            [n for i, n in enumerate(names) if i not in drop], dtype=object
        )
