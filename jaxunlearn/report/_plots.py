"""Matplotlib figures for reports, saved atomically as PNG.

Every function takes plain arrays and dicts, so the CLI, notebooks and
benchmarks share them. Matplotlib is imported lazily (the ``plot`` extra).
"""

import io
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from jaxunlearn import _io

_COLORS = {
    "retain": "#1b9e77",
    "forget": "#d95f02",
    "test": "#7570b3",
    "mi": "#444444",
}


def _pyplot():
    try:
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError as err:  # pragma: no cover - depends on the install.
        raise ImportError(
            "plots need matplotlib: pip install 'jaxunlearn[plot]'"
        ) from err
    return plt


def _ticker():
    import matplotlib.ticker  # noqa: PLC0415

    return matplotlib.ticker


def _save(fig: Any, path: str | os.PathLike) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    _pyplot().close(fig)
    _io.atomic_write_bytes(path, buf.getvalue())
    return os.fspath(path)


def _band(ax, x, values, color, label):
    values = np.atleast_2d(np.asarray(values, dtype=float))
    mean = values.mean(axis=0)
    ax.plot(x, mean, color=color, label=label, lw=2, marker="o", ms=3)
    if values.shape[0] > 1:
        std = values.std(axis=0)
        ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.2)


def plot_training_curves(
    history: Mapping[str, Any],
    path: str | os.PathLike,
    *,
    title: str = "MI unlearning",
    retrain: Mapping[str, float] | None = None,
    first_epoch: int = 1,
) -> str:
    """MI and retain/forget/test accuracy per epoch, mean +- std over seeds.

    Accuracies on the left axis, the mutual information ``I(Y_hat; Z)`` on a
    twin right axis (the paper's figure). Dashed lines mark the retrained
    model's accuracies when given.

    Args:
      history: ``retain_acc``, ``forget_acc``, ``test_acc`` and ``mi``, each
        ``[epochs]`` or ``[seeds, epochs]``.
      path: PNG destination.
      title: figure title.
      retrain: optional ``{"forget_acc": .., "test_acc": .., ...}`` of the
        retrained reference.
      first_epoch: the epoch number of the first column (0 when the
        original model's values are prepended; NaN entries are not drawn).

    Returns:
      The path written.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    n = np.atleast_2d(np.asarray(history["forget_acc"])).shape[1]
    epochs = np.arange(first_epoch, first_epoch + n)
    for split in ("retain", "forget", "test"):
        key = f"{split}_acc"
        if key in history:
            _band(ax, epochs, history[key], _COLORS[split], f"{split} accuracy")
            if retrain and key in retrain:
                ax.axhline(
                    retrain[key],
                    color=_COLORS[split],
                    ls="--",
                    lw=1,
                    label=f"{split} (retrain)",
                )
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(_ticker().MaxNLocator(integer=True))
    ax.set_ylabel("accuracy")
    ax.set_ylim(-0.02, 1.02)
    handles, labels = ax.get_legend_handles_labels()
    if "mi" in history:
        ax2 = ax.twinx()
        _band(ax2, epochs, history["mi"], _COLORS["mi"], "I(Y_hat; Z)")
        ax2.set_ylabel("I(Y_hat; Z) [nats]")
        top = np.nanmax(np.asarray(history["mi"], dtype=float))
        # Headroom keeps the MI curve apart from accuracies near 1.
        ax2.set_ylim(0.0, 1.6 * top if np.isfinite(top) and top > 0 else 1.0)
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="lower left", fontsize=8, framealpha=0.9)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_pareto(
    t: Sequence[float],
    distortion: Sequence[float],
    leakage: Sequence[float],
    path: str | os.PathLike,
    *,
    leakage_label: str = "AUC of Z (held-out)",
    title: str = "Utility / leakage frontier",
    chance: float | None = 0.5,
) -> str:
    """Distortion against leakage of ``Z`` along the repair level ``t``.

    Args:
      t: repair levels ``[m]`` in ``[0, 1]``.
      distortion: ``E||X - X_t||^2`` per level ``[m]``.
      leakage: leakage measure per level ``[m]`` (e.g. an auditor's AUC).
      path: PNG destination.
      leakage_label: y-axis label.
      title: figure title.
      chance: draw a dotted line at this leakage (``None`` for none).

    Returns:
      The path written.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.plot(distortion, leakage, "o-", color="#1f77b4", lw=2)
    for ti, di, li in zip(t, distortion, leakage, strict=True):
        ax.annotate(
            f"t={ti:g}",
            (di, li),
            textcoords="offset points",
            xytext=(6, 4),
            fontsize=8,
        )
    if chance is not None:
        ax.axhline(chance, color="grey", ls=":", lw=1, label="chance")
        ax.legend(fontsize=8)
    ax.set_xlabel("distortion E||X - X_t||^2")
    ax.set_ylabel(leakage_label)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_group_histograms(
    before: Any,
    after: Any,
    z: Any,
    path: str | os.PathLike,
    *,
    feature_names: Sequence[str] | None = None,
    features: Sequence[int] | None = None,
    group_names: Sequence[str] | None = None,
) -> str:
    """Per-group distributions of a few features before and after repair.

    Args:
      before: original rows ``[n, d]``.
      after: repaired rows ``[n, d]``.
      z: group codes ``[n]``.
      path: PNG destination.
      feature_names: names of the ``d`` columns.
      features: which columns to show (default: the first three).
      group_names: a name per group code, in sorted code order.

    Returns:
      The path written.
    """
    plt = _pyplot()
    before = np.asarray(before, dtype=float)
    after = np.asarray(after, dtype=float)
    z = np.asarray(z)
    cols = (
        list(features)
        if features is not None
        else list(range(min(3, before.shape[1])))
    )
    codes = np.unique(z)
    names = list(group_names) if group_names else [f"Z={c}" for c in codes]
    fig, axes = plt.subplots(
        2, len(cols), figsize=(3.2 * len(cols), 5.2), squeeze=False
    )
    for j, col in enumerate(cols):
        label = feature_names[col] if feature_names else f"feature {col}"
        for row, (data, stage) in enumerate(
            ((before, "before"), (after, "after"))
        ):
            ax = axes[row, j]
            lo, hi = np.percentile(
                np.concatenate([before[:, col], after[:, col]]), [0.5, 99.5]
            )
            bins = np.linspace(lo, hi if hi > lo else lo + 1.0, 30)
            for c, name in zip(codes, names, strict=True):
                ax.hist(
                    data[z == c, col],
                    bins=bins,
                    alpha=0.5,
                    density=True,
                    label=name,
                )
            ax.set_title(f"{label} ({stage})", fontsize=9)
            ax.tick_params(labelsize=7)
            ax.set_xlabel("value", fontsize=8)
            if j == 0:
                ax.set_ylabel("density", fontsize=8)
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def plot_image_grid(
    rows: Mapping[str, Any],
    path: str | os.PathLike,
    *,
    title: str | None = None,
    max_images: int = 8,
) -> str:
    """A grid of grayscale images, one named row per stage.

    Args:
      rows: row label -> images ``[n, h, w]`` (e.g. original / partial /
        full repair of the same examples).
      path: PNG destination.
      title: optional title.
      max_images: columns shown.

    Returns:
      The path written.
    """
    plt = _pyplot()
    labels = list(rows)
    n = min(max_images, min(len(np.asarray(v)) for v in rows.values()))
    fig, axes = plt.subplots(
        len(labels),
        n,
        figsize=(1.1 * n + 1.2, 1.15 * len(labels)),
        squeeze=False,
    )
    for i, label in enumerate(labels):
        imgs = np.asarray(rows[label], dtype=float)
        for j in range(n):
            ax = axes[i, j]
            ax.imshow(
                imgs[j], cmap="gray_r", vmin=0.0, vmax=max(1.0, imgs.max())
            )
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(
                    label, fontsize=8, rotation=0, ha="right", va="center"
                )
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def plot_roc(
    curves: Mapping[str, tuple[Any, Any, float]],
    path: str | os.PathLike,
    *,
    title: str = "Membership-inference attack ROC (forget vs held-out)",
) -> str:
    """ROC curves of membership-inference attacks, e.g. before and after.

    Args:
      curves: label -> ``(fpr, tpr, auc)``.
      path: PNG destination.
      title: figure title.

    Returns:
      The path written.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4.6))
    for label, (fpr, tpr, auc) in curves.items():
        ax.plot(fpr, tpr, lw=2, label=f"{label} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    return _save(fig, path)
