r"""End-to-end feature unlearning: fit, repair along ``t``, audit.

Fit a barycenter repair on a training split, transform the training and
held-out rows at every repair level ``t`` (McCann interpolation
``(1 - t) x + t T_z(x)``) and audit each level with
``jaxunlearn.audit.feature_audit``: how well ``Z`` can still be predicted
(held-out AUC of a logistic and a boosting auditor, MI lower bound), the
held-out accuracy of a downstream target and the distortion
``E||X - X_t||^2``. Each level is a checkpoint unit.

References:
  Xu & Strohmer, "Machine Unlearning via Information Theoretic
  Regularization", arXiv:2502.05684, 2025. https://arxiv.org/abs/2502.05684
"""

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import numpy as np

from jaxunlearn import audit, datasets, feature
from jaxunlearn.experiments._checkpoint import Checkpoint
from jaxunlearn.experiments._data import FeatureData
from jaxunlearn.experiments._tables import encode_table, feature_frame

AUDITORS = ("logistic", "boosting")
METHODS = {"gaussian": "gaussian", "quantile": "quantile"}
METHODS["empirical"] = "coupling"  # the joint empirical-coupling method
METHODS["coupling"] = "coupling"
METHODS["neural"] = "neural"  # neural OT maps (two groups; slow on a CPU)
# Laguerre cells onto fixed barycenter atoms: Z-independent on new rows.
METHODS["semidiscrete"] = "semidiscrete"
# The same in a PCA code space, each atom an image: the default for images
# (docs/images.md: the retrained-CNN audit reads Z at the majority rate).
METHODS["latent_semidiscrete"] = "latent_semidiscrete"
# Its image settings: 32 PCA components, entropic blur 0.005 of the mean
# squared distance between codes (docs/images.md).
_LATENT_OPTIONS = {"relative_epsilon": 0.005, "fixed_point_steps": 3,
                   "refine_steps": 30}  # fmt: skip


def default_method(data: FeatureData) -> str:
    """The method ``run_feature`` uses when none is named.

    Args:
      data: the loaded data.

    Returns:
      ``"latent_semidiscrete"`` for images (``data.image_shape`` set), else
      ``"semidiscrete"`` (the best of the strict audit on tables).
    """
    return "semidiscrete" if data.image_shape is None else "latent_semidiscrete"


def _method(name: str) -> str:
    if name not in METHODS:
        raise ValueError(
            f"method: unknown {name!r}; expected one of"
            f" {', '.join(sorted(METHODS))}"
        )
    return METHODS[name]


class FeatureSplit(NamedTuple):
    """The training / held-out rows of a feature run (NumPy).

    Attributes:
      x_train: ``[n, d]`` training rows.
      z_train: ``[n]`` their attribute codes.
      y_train: ``[n]`` their targets, or ``None`` without a target.
      x_test: ``[m, d]`` held-out rows.
      z_test: ``[m]`` their attribute codes.
      y_test: ``[m]`` their targets, or ``None``.
      rows_train: ``[n]`` each training row's index in the data.
      rows_test: ``[m]`` each held-out row's index in the data.
    """

    x_train: np.ndarray
    z_train: np.ndarray
    y_train: np.ndarray | None
    x_test: np.ndarray
    z_test: np.ndarray
    y_test: np.ndarray | None
    rows_train: np.ndarray | None = None
    rows_test: np.ndarray | None = None


class FeatureResult(NamedTuple):
    """A fitted repair applied along ``t`` and audited at every level.

    Attributes:
      method: the method as asked for.
      ts: the repair levels.
      path: one mapping per level: ``t``, ``auc_<auditor>`` per auditor,
        ``mi``, ``accuracy`` (NaN without a target) and ``distortion``.
      repair: the fitted repair (``jaxunlearn.feature.save`` writes it).
      split: the :class:`FeatureSplit`.
      repaired_train: ``[len(ts), n, d]`` repaired training rows.
      repaired_test: ``[len(ts), m, d]`` repaired held-out rows.
      tables: for tabular data, per level the repaired feature columns
        of the training and of the held-out rows as DataFrames (input
        values: categories as labels, integers as integers; indexed by
        the row's index in the data); else ``None``.
    """

    method: str
    ts: tuple[float, ...]
    path: list[dict[str, float]]
    repair: Any
    split: FeatureSplit
    repaired_train: np.ndarray
    repaired_test: np.ndarray
    tables: list | None = None


def split_feature_data(
    data: FeatureData, *, seed: int = 0, max_rows: int | None = None
) -> FeatureSplit:
    """Keyed train / test split (stratified by ``Z``), optionally subsampled.

    Args:
      data: the loaded data.
      seed: split seed.
      max_rows: keep at most this many rows (random subset) before
        splitting; ``None`` keeps all.

    Returns:
      A :class:`FeatureSplit` (the ``y`` entries are ``None`` without a
      target).

    Raises:
      ValueError: when a group has fewer than 4 rows.
    """
    n = data.x.shape[0]
    idx = np.arange(n)
    if max_rows is not None and max_rows < n:
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(n, size=max_rows, replace=False))
    codes, counts = np.unique(data.z[idx], return_counts=True)
    if codes.size < 2:
        raise ValueError("attribute: the attribute has a single value")
    if counts.min() < 4:
        small = {
            data.group_names[int(c)]: int(k)
            for c, k in zip(codes, counts, strict=True)
            if k < 4
        }
        raise ValueError(
            f"attribute: every group needs at least 4 rows, got {small}"
        )
    split = datasets.train_test_split(
        jax.random.key(seed),
        idx.astype(np.int32)[:, None],
        data.z[idx],
        test_fraction=0.25,
        stratify=True,
    )
    tr = idx[np.asarray(split.train_indices)]
    te = idx[np.asarray(split.test_indices)]
    return FeatureSplit(
        x_train=data.x[tr],
        z_train=data.z[tr],
        y_train=None if data.y is None else data.y[tr],
        x_test=data.x[te],
        z_test=data.z[te],
        y_test=None if data.y is None else data.y[te],
        rows_train=tr,
        rows_test=te,
    )


def _fit_repair(data: FeatureData, split: FeatureSplit, name, options):
    """The fitted repair and ``apply(part, t, key) -> (design, table)``.

    Tabular data is repaired on its raw feature columns (a DataFrame, so
    categories come back as labels) and the audit reads the design of the
    repaired table; other data is repaired on ``x`` (``table`` is None).
    """
    if data.table is None or data.codec is None:
        parts = (
            (split.x_train, split.z_train),
            (split.x_test, split.z_test),
        )
    else:
        names = np.asarray(data.group_names, dtype=object)
        parts = tuple(
            (feature_frame(data.codec, data.table, rows), names[z])
            for rows, z in (
                (split.rows_train, split.z_train),
                (split.rows_test, split.z_test),
            )
        )
    repair = feature.fit(*parts[0], method=name, options=options)

    def apply(part: int, t: float, key):
        out = feature.transform(repair, *parts[part], t=t, key=key)
        if data.codec is None or data.table is None:
            return np.asarray(out), None
        return encode_table(data.codec, out), out

    return repair, apply


# The boosting auditor of images reads the top principal codes of the
# repaired training rows of the same level (fitted without Z, on rows the
# strict auditors never score), not the raw pixels: trees on 784 pixels cost
# the default image run minutes per level; on MNIST-5k the codes read Z
# within about a point of AUC of the pixels (docs/images.md,
# benchmarks/bench_image_cli.py). The logistic auditor and the Y model keep
# every pixel.
IMAGE_BOOSTING_CODES = 64


def _pca_codes(tr, te, k, seed):
    from sklearn.decomposition import PCA  # noqa: PLC0415

    pca = PCA(k, svd_solver="randomized", random_state=seed).fit(tr)
    return pca.transform(tr), pca.transform(te)


def _audit(tr, te, split, x_tr, auditors, seed, codes=0) -> dict[str, float]:
    try:  # one BLAS/OpenMP thread: the auditors are small, JAX owns the CPU
        # The limit reaches only libraries loaded when it is set: load the
        # auditors' OpenMP runtime (boosting) first, or it runs one thread
        # per core and spins on a busy CPU.
        import sklearn.ensemble  # noqa: F401, PLC0415
        import sklearn.linear_model  # noqa: F401, PLC0415
        from threadpoolctl import threadpool_limits  # noqa: PLC0415
    except ImportError:  # pragma: no cover - shipped with scikit-learn
        return _audit_core(tr, te, split, x_tr, auditors, seed, codes)
    with threadpool_limits(1):
        return _audit_core(tr, te, split, x_tr, auditors, seed, codes)


def _audit_core(tr, te, split, x_tr, auditors, seed, codes=0):
    # The strict protocol: each auditor is trained and scored by stratified
    # K-fold CV on the repaired held-out rows (the fit never saw them); the
    # auditor trained on the in-sample repaired rows is a labelled extra.
    # ``codes > 0``: boosting reads that many PCA codes of the rows.
    z_tr, z_te = split.z_train, split.z_test
    folds = int(min(5, np.unique(z_te, return_counts=True)[1].min()))
    if folds < 2:
        raise ValueError(
            "z: the strict audit needs at least 2 held-out rows of every"
            f" group, got {folds}; use more rows"
        )
    rows = dict.fromkeys(auditors, (tr, te))
    if codes and "boosting" in rows and min(tr.shape) > codes:
        rows["boosting"] = _pca_codes(tr, te, codes, seed)
    out = {}
    for kind, (_, a_te) in rows.items():
        out[f"auc_{kind}"] = audit.strict_leakage_auc(
            a_te, z_te, model=kind, folds=folds, seed=seed
        )
    out["mi"] = max(
        audit.strict_leakage_mi(a_te, z_te, models=(kind,), folds=folds,
                                seed=seed)
        for kind, (_, a_te) in rows.items()
    )  # fmt: skip
    for kind, (a_tr, a_te) in rows.items():
        out[f"insample_auc_{kind}"] = audit.leakage_auc(
            a_tr, z_tr, a_te, z_te, model=kind, seed=seed
        )
    out["accuracy"] = (
        float("nan")
        if split.y_train is None
        else audit.downstream_accuracy(tr, split.y_train, te, split.y_test)
    )
    out["distortion"] = audit.repair_distortion(x_tr, tr)
    return out


def run_feature(
    data: FeatureData,
    *,
    method: str | None = None,
    ts: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
    seed: int = 0,
    max_rows: int | None = None,
    auditors: Sequence[str] = ("logistic", "boosting"),
    checkpoint: Checkpoint | None = None,
    progress: Callable | None = None,
    neural_iterations: int = 400,
) -> FeatureResult:
    """Fits a repair, applies it along ``t`` and audits every level.

    Args:
      data: the loaded data.
      method: ``gaussian``, ``quantile``, ``empirical`` (the coupling
        method), ``semidiscrete``, ``latent_semidiscrete`` (images) or
        ``neural``; ``None``: :func:`default_method` of ``data``.
      ts: repair levels in ``[0, 1]``.
      seed: split and auditor seed.
      max_rows: subsample to at most this many rows.
      auditors: ``logistic`` and / or ``boosting`` (nonlinear); each is
        trained and scored by stratified 5-fold cross-validation on the
        repaired held-out rows (the strict audit); the MI bound uses the
        better of them.
      checkpoint: finished levels are read from / written to it.
      progress: a ``tqdm``-like factory, or ``None``.
      neural_iterations: outer iterations of the neural OT training when
        ``method="neural"``.

    Returns:
      A :class:`FeatureResult`; each entry of its path has ``t``,
      ``auc_<auditor>`` per auditor (strict audit),
      ``insample_auc_<auditor>`` (auditor trained on the in-sample repaired
      training rows, the weaker protocol), ``mi``, ``accuracy`` (NaN without
      a target) and ``distortion``.

    Raises:
      ValueError: unknown method, levels outside ``[0, 1]``, too small
        groups.
    """
    method = default_method(data) if method is None else method
    name = _method(method)
    auditors = tuple(auditors)
    bad = [a for a in auditors if a not in AUDITORS]
    if bad or not auditors:
        raise ValueError(f"auditors: expected some of {AUDITORS}, got {bad}")
    ts = tuple(float(t) for t in ts)
    for t in ts:
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"ts: levels must be in [0, 1], got {t}")
    split = split_feature_data(data, seed=seed, max_rows=max_rows)
    checkpoint = checkpoint or Checkpoint(None, {})
    x_tr = split.x_train
    options = None
    if name == "neural":
        options = {"num_iterations": int(neural_iterations), "seed": seed}
        if data.image_shape is not None:
            # The audited image setting (docs/neural_ot.md): T starts at the
            # PCA-Gaussian map of 32 components and learns the residual with
            # a small step size.
            options["image_shape"] = list(data.image_shape)
            options["prior_components"] = min(32, x_tr.shape[1])
            options["learning_rate_t"] = 1e-4
            options["learning_rate_f"] = 1e-4
    elif name == "latent_semidiscrete":
        options = {"seed": seed, "num_components": min(32, x_tr.shape[1])}
        options |= _LATENT_OPTIONS
    repair, apply = _fit_repair(data, split, name, options)
    codes = 0 if data.image_shape is None else IMAGE_BOOSTING_CODES
    key = jax.random.key(seed)
    bar = progress(total=len(ts), desc="repair + audit") if progress else None
    path, rep_tr, rep_te, tables = [], [], [], []
    for i, t in enumerate(ts):
        kt = jax.random.fold_in(key, i)
        tr, table_tr = apply(0, t, kt)
        te, table_te = apply(1, t, jax.random.fold_in(kt, 1))
        tables.append((table_tr, table_te))
        rep_tr.append(tr)
        rep_te.append(te)
        unit = f"t={t!r}"
        entry = checkpoint.get(unit)
        if entry is None:
            entry = checkpoint.put(
                unit, _audit(tr, te, split, x_tr, auditors, seed, codes)
            )
        entry = {"t": t, **entry}
        path.append(entry)
        if bar is not None:
            bar.set_postfix(t=t, auc=f"{entry['auc_logistic']:.3f}")
            bar.update()
    if bar is not None:
        bar.close()
    return FeatureResult(
        method=method,
        ts=tuple(ts),
        path=path,
        repair=repair,
        split=split,
        repaired_train=np.stack(rep_tr),
        repaired_test=np.stack(rep_te),
        tables=None if data.table is None else tables,
    )
