"""A scikit-learn style wrapper around :func:`fit` / :func:`transform`.

scikit-learn is optional: the class implements the estimator protocol
(``get_params`` / ``set_params`` / ``fit`` / ``transform``) without
importing it, so it works with ``sklearn.pipeline.Pipeline`` and
``sklearn.base.clone`` when scikit-learn is installed and costs nothing
when it is not.
"""

from typing import Any

import jax
import numpy as np

from jaxunlearn.feature._repair import (
    FittedRepair,
    fit,
    inverse_transform,
    transform,
)


class BarycenterRepair:
    """Feature repair as a scikit-learn transformer.

    ``fit(X, z)`` / ``transform(X, z)`` / ``fit_transform(X, z)`` take the
    group codes as the second argument (scikit-learn passes ``y`` there, so
    ``Pipeline.fit(X, z)`` fits the repair). At prediction time a
    ``Pipeline`` calls ``transform(X)`` alone: set ``z_col`` to read the codes
    from a column of ``X`` instead (that column is dropped from the output).

    Args:
      method: a registered method name (``"gaussian"``, ``"quantile"``).
      t: repair amount in ``[0, 1]``.
      weights: barycentric weights (see :func:`jaxunlearn.feature.fit`).
      z_col: index of a column of ``X`` that holds the group codes, or
        ``None`` to pass them as the second argument.
      seed: seed of the key used by randomized methods.

    Attributes:
      repair_: the :class:`FittedRepair` after ``fit``.
    """

    def __init__(
        self,
        method: str = "gaussian",
        t: float = 1.0,
        weights: Any = None,
        z_col: int | None = None,
        seed: int = 0,
    ):
        self.method = method
        self.t = t
        self.weights = weights
        self.z_col = z_col
        self.seed = seed

    _PARAMS = ("method", "t", "weights", "z_col", "seed")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Returns the constructor parameters (scikit-learn protocol).

        Args:
          deep: unused (no nested estimators).

        Returns:
          A dict of parameter names to values.
        """
        del deep
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params: Any) -> "BarycenterRepair":
        """Sets constructor parameters (scikit-learn protocol).

        Args:
          **params: parameter names and values.

        Returns:
          ``self``.

        Raises:
          ValueError: on an unknown parameter name.
        """
        for name, value in params.items():
            if name not in self._PARAMS:
                raise ValueError(
                    f"{name}: not a parameter of BarycenterRepair"
                    f" (expected one of {self._PARAMS})"
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"BarycenterRepair({args})"

    def _split(self, x: Any, z: Any) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(x)
        if self.z_col is not None:
            if x.ndim != 2:
                raise ValueError(
                    f"X: expected a 2-d array with a z column, got shape"
                    f" {x.shape}"
                )
            col = self.z_col % x.shape[1]
            z_vals = x[:, col]
            if not np.all(np.equal(np.round(z_vals), z_vals)):
                raise ValueError(
                    f"X: column z_col={self.z_col} must hold integer codes"
                )
            return np.delete(x, col, axis=1), z_vals.astype(np.int64)
        if z is None:
            raise ValueError(
                "z: group codes are required (pass them as the second"
                " argument, or set z_col)"
            )
        return x, np.asarray(z)

    def fit(self, X: Any, z: Any = None) -> "BarycenterRepair":  # noqa: N803
        """Fits the repair.

        Args:
          X: features ``[n, d]`` (plus the z column when ``z_col`` is set).
          z: group codes ``[n]`` (ignored when ``z_col`` is set).

        Returns:
          ``self``.
        """
        x, z = self._split(X, z)
        self.repair_: FittedRepair = fit(
            x, z, method=self.method, weights=self.weights
        )
        return self

    def _check_fitted(self) -> FittedRepair:
        if not hasattr(self, "repair_"):
            raise ValueError("BarycenterRepair: call fit before transform")
        return self.repair_

    def transform(self, X: Any, z: Any = None) -> np.ndarray:  # noqa: N803
        """Repairs rows with the fitted maps.

        Args:
          X: features ``[n, d]`` (plus the z column when ``z_col`` is set).
          z: group codes ``[n]`` (ignored when ``z_col`` is set).

        Returns:
          The repaired features ``[n, d]`` as a NumPy array.
        """
        repair = self._check_fitted()
        x, z = self._split(X, z)
        out = transform(repair, x, z, t=self.t, key=jax.random.key(self.seed))
        return np.asarray(out)

    def fit_transform(self, X: Any, z: Any = None) -> np.ndarray:  # noqa: N803
        """Fits, then repairs the same rows.

        Args:
          X: features ``[n, d]`` (plus the z column when ``z_col`` is set).
          z: group codes ``[n]`` (ignored when ``z_col`` is set).

        Returns:
          The repaired features ``[n, d]``.
        """
        return self.fit(X, z).transform(X, z)

    def inverse_transform(self, X: Any, z: Any = None) -> np.ndarray:  # noqa: N803
        """Maps fully repaired rows back (see :func:`inverse_transform`).

        Args:
          X: repaired features ``[n, d]`` (plus the z column with
            ``z_col``).
          z: group codes ``[n]``.

        Returns:
          Features in the groups' coordinates ``[n, d]``.
        """
        repair = self._check_fitted()
        x, z = self._split(X, z)
        return np.asarray(
            inverse_transform(repair, x, z, key=jax.random.key(self.seed))
        )
