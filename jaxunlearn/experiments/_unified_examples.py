"""The examples with known answers of the unified-objective experiments.

Small discrete and Gaussian problems whose barycenter, information and
distortion are known in closed form (the checks of
:mod:`jaxunlearn.experiments`'s unified objectives, docs/info.md).
"""

import numpy as np

from jaxunlearn.experiments._unified import GaussianProblem


def discrete_examples() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The discrete examples with known answers, as ``(weights, probs, x)``.

    * ``disjoint``: ``X | Z=0`` uniform on ``{0, 1, 2, 3}``, ``X | Z=1``
      uniform on ``{10, 11}``, equal weights. Barycenter atoms
      ``{5, 5.5, 6.5, 7}`` (each 1/4, group 1's atoms split in two);
      ``I(X; X_hat) = H(X|Z) = 1.5 log 2``, ``H(X|X_hat) = H(Z) = log 2``,
      energy ``1/2``, distortion ``20.375``.
    * ``unequal``: ``X | Z=0`` on ``{0, 1, 2}`` with ``(0.2, 0.3, 0.5)``,
      ``X | Z=1`` uniform on ``{4, 5}``, weights ``(0.4, 0.6)``.
    * ``overlap``: ``X`` in ``{0, 1}``, ``Bernoulli(0.2)`` vs
      ``Bernoulli(0.8)``, equal weights. Barycenter atoms ``{0, 0.5, 1}``
      with masses ``(0.2, 0.6, 0.2)`` and ``I(X; X_hat) = 0.4 log 2``.

    Returns:
      A dict from example name to ``(weights [k], group_probs [k, n],
      x_support [n])``.
    """
    return {
        "disjoint": (
            np.array([0.5, 0.5]),
            np.array([[0.25] * 4 + [0, 0], [0] * 4 + [0.5, 0.5]]),
            np.array([0.0, 1, 2, 3, 10, 11]),
        ),
        "unequal": (
            np.array([0.4, 0.6]),
            np.array([[0.2, 0.3, 0.5, 0, 0], [0, 0, 0, 0.5, 0.5]]),
            np.array([0.0, 1, 2, 4, 5]),
        ),
        "overlap": (
            np.array([0.5, 0.5]),
            np.array([[0.8, 0.2], [0.2, 0.8]]),
            np.array([0.0, 1.0]),
        ),
    }


def gaussian_example() -> GaussianProblem:
    """Two 2-D Gaussian groups with commuting covariances (a known answer).

    Basis: rotation by 30 degrees; ``s_0 = (1, 4)``, ``s_1 = (9, 1)``, means
    ``(0, 0)`` and ``(3, 1)``, weights ``(0.3, 0.7)``. Then
    ``sqrt(s_bar) = (2.4, 1.3)`` and the barycenter distortion is
    ``sum_z lambda_z [||m_z - m_bar||^2 + sum_j (sqrt(s_zj) -
    sqrt(s_bar_j))^2]``.

    Returns:
      The :class:`GaussianProblem`.
    """
    t = np.pi / 6
    basis = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return GaussianProblem(
        weights=np.array([0.3, 0.7]),
        means=np.array([[0.0, 0.0], [3.0, 1.0]]),
        eigvals=np.array([[1.0, 4.0], [9.0, 1.0]]),
        basis=basis,
    )
