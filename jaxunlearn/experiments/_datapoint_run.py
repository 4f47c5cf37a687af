r"""End-to-end data-point unlearning: original, MI unlearning, baselines.

For every seed: train the original model on all training rows, build the
forget request, then produce and audit the MI-unlearned model and each
baseline (``retrain`` from scratch on the retain rows, ``finetune`` the
original on the retain rows, ``neggrad`` = NegGrad+). Every model is
audited the same way: retain / forget / test accuracy, the plug-in MI audit
``I(Y_hat; Z)`` between forget rows and held-out rows of the forget classes
(``jaxunlearn.audit.mi_audit``), and the loss-threshold membership attack's
AUC on the same rows. Each finished seed is a checkpoint unit.

References:
  Xu & Strohmer, "Machine Unlearning via Information Theoretic
  Regularization", arXiv:2502.05684, 2025. https://arxiv.org/abs/2502.05684
"""

import os
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxunlearn import audit, baselines, datapoint
from jaxunlearn.experiments._checkpoint import Checkpoint
from jaxunlearn.experiments._data import ClassificationData
from jaxunlearn.experiments._datapoint_setup import (
    _holdout_rows,
    _model,
    _save_model,
    _source_rows,
    make_split,
)
from jaxunlearn.experiments._training import train_epochs

BASELINES = ("retrain", "finetune", "neggrad", "scrub")
DEFAULT_BASELINES = ("retrain", "finetune", "neggrad")
METRICS = ("retain_acc", "forget_acc", "test_acc", "seconds", "mi", "mia_auc")


class DatapointConfig(NamedTuple):
    """Settings of :func:`run_datapoint` (all JSON-serializable).

    Attributes:
      forget: ``("class", c, fraction)`` or ``("indices", [i, ...])``.
      hidden: hidden widths of the MLP.
      original_epochs: epochs of the original model and of retraining.
      gamma: the MI weight, or ``"auto"`` (the calibrated controller).
      unlearn_epochs: epochs of MI unlearning (the cap under ``"auto"``).
      baselines: names among ``retrain``, ``finetune``, ``neggrad``
        (NegGrad+), ``scrub`` (``jaxunlearn.baselines.scrub``).
      baseline_epochs: epochs of ``finetune``, ``neggrad`` and ``scrub``.
      neggrad_alpha: weight of the negated forget loss in NegGrad+.
      batch_size: retain rows per step.
      forget_batch_size: forget rows per step.
      learning_rate: Adam's step size.
      seeds: the seeds (model initialization, forget draw, batch order).
      data_seed: seed of the train / test split.
      num_bootstrap: bootstrap resamples of the MI audit.
    """

    forget: tuple
    hidden: tuple[int, ...] = (128, 64)
    original_epochs: int = 30
    gamma: float | str = "auto"
    unlearn_epochs: int = 20
    baselines: tuple[str, ...] = DEFAULT_BASELINES
    baseline_epochs: int = 5
    neggrad_alpha: float = 0.05
    batch_size: int = 64
    forget_batch_size: int = 16
    learning_rate: float = 1e-3
    seeds: tuple[int, ...] = (0,)
    data_seed: int = 0
    num_bootstrap: int = 100


class DatapointUnit(NamedTuple):
    """One seed of a data-point run (what the checkpoint stores per seed).

    Attributes:
      seed: the seed.
      sizes: ``retain``, ``forget``, ``test`` and ``holdout`` row counts.
      models: model name -> metrics (``retain_acc``, ``forget_acc``,
        ``test_acc``, ``mi``, ``mia_auc``, ``seconds``, ...).
      history: MI unlearning per epoch: ``retain_acc``, ``forget_acc``,
        ``test_acc``, ``mi``, ``gamma``, ``active``.
      roc: model name -> the attack's ``scores`` and ``is_member``.
      forget_rows: the forgotten rows of the source (see
        :class:`ClassificationData`'s ``rows``); ``None`` when read from
        an older checkpoint.
    """

    seed: int
    sizes: dict[str, int]
    models: dict[str, dict[str, Any]]
    history: dict[str, Any]
    roc: dict[str, dict[str, list]]
    forget_rows: list[int] | None = None


class DatapointResult(NamedTuple):
    """Every seed of a data-point run and their summary.

    Attributes:
      config: the settings.
      data_name: the data set's name.
      n_train: training rows.
      n_test: held-out rows.
      num_classes: the number of classes.
      units: one :class:`DatapointUnit` per seed.
      summary: model name -> mean metrics over seeds, with ``std`` (a
        mapping of the same metrics) and ``n_seeds``.
    """

    config: DatapointConfig
    data_name: str
    n_train: int
    n_test: int
    num_classes: int
    units: list[DatapointUnit]
    summary: dict[str, dict[str, Any]]


def audit_model(
    apply_fn: Callable,
    params: Any,
    split: Any,
    holdout: tuple[jax.Array, jax.Array],
    *,
    key: jax.Array,
    num_bootstrap: int = 100,
) -> tuple[dict[str, float], dict[str, list]]:
    """Accuracies, MI audit and membership attack of one model.

    Args:
      apply_fn: ``apply_fn(params, x) -> logits``.
      params: the model's parameters.
      split: the unlearning split.
      holdout: ``(x, y)`` held-out rows of the forget classes.
      key: PRNG key of the MI bootstrap.
      num_bootstrap: bootstrap resamples.

    Returns:
      ``(metrics, roc)``: ``retain_acc, forget_acc, test_acc, mi, mi_lower,
      mi_upper, tv_bound, mia_auc, mia_advantage`` and the attack's
      ``scores`` / ``is_member``.
    """
    acc = audit.split_accuracy(apply_fn, params, split)
    lf = apply_fn(params, split.x_forget)
    lh = apply_fn(params, holdout[0])
    mi = audit.mi_audit(
        jax.nn.softmax(lh, axis=-1),
        jax.nn.softmax(lf, axis=-1),
        key=key,
        num_bootstrap=num_bootstrap,
    )
    att = audit.loss_threshold_attack(lf, split.y_forget, lh, holdout[1])
    metrics = {
        "retain_acc": float(acc.retain),
        "forget_acc": float(acc.forget),
        "test_acc": float(acc.test),
        "mi": float(mi.mi),
        "mi_lower": float(mi.lower),
        "mi_upper": float(mi.upper),
        "tv_bound": float(mi.bounds.tv_bound),
        "mia_auc": float(att.auc),
        "mia_advantage": float(att.advantage),
    }
    roc = {
        "scores": np.asarray(att.scores, np.float64).tolist(),
        "is_member": np.asarray(att.is_member, bool).tolist(),
    }
    return metrics, roc


class _Bar:
    def __init__(self, progress, total, desc):
        self.bar = progress(total=total, desc=desc) if progress else None

    def update(self, n=1, **post):
        if self.bar is not None:
            if post:
                self.bar.set_postfix(**post, refresh=False)
            self.bar.update(n)

    def close(self):
        if self.bar is not None:
            self.bar.close()


class _EpochRelay:
    """The library's per-epoch ``callback`` feeding the current bar.

    One object for the whole process: a callback is a static argument of
    the compiled loops, so the same object keeps every compilation (warm-up
    and timed calls, every seed) valid while the bar it feeds changes.
    """

    bar: _Bar | None = None

    def __call__(self, info: datapoint.EpochInfo) -> None:
        bar = self.bar
        if bar is not None and bar.bar is not None:
            bar.bar.total = info.epochs
            bar.update(loss=f"{info.loss:.3f}")


_RELAY = _EpochRelay()


def _phase(progress, total, desc) -> _Bar:
    """A bar that the library's epoch callbacks advance until closed."""
    bar = _Bar(progress, total, desc)
    _RELAY.bar = bar
    return bar


def _baseline(
    name, apply_fn, original, params0, split, config, key, callback=None
):
    # The library's baselines; ``neggrad`` is NegGrad+ with
    # CE(retain) - alpha CE(forget), i.e. retain_weight = 1 / (1 + alpha)
    # up to a constant factor (which Adam's steps do not see).
    common = {
        "batch_size": config.batch_size,
        "forget_batch_size": config.forget_batch_size,
        "key": key,
        "callback": callback,
    }
    if name == "scrub":
        return baselines.scrub(
            apply_fn, original, split, epochs=config.baseline_epochs, **common
        )
    common["learning_rate"] = config.learning_rate
    if name == "retrain":  # from the original model's initialization
        return baselines.retrain(
            apply_fn,
            original,
            split,
            epochs=config.original_epochs,
            init_params=params0,
            **common,
        )
    if name == "finetune":
        return baselines.finetune(
            apply_fn, original, split, epochs=config.baseline_epochs, **common
        )
    return baselines.neggrad_plus(
        apply_fn,
        original,
        split,
        epochs=config.baseline_epochs,
        retain_weight=1.0 / (1.0 + config.neggrad_alpha),
        **common,
    )


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    jax.block_until_ready(out.params)
    return out, time.perf_counter() - t0


def run_datapoint_seed(
    data: ClassificationData,
    config: DatapointConfig,
    seed: int,
    *,
    apply_fn: Callable | None = None,
    progress: Callable | None = None,
    warmup: bool = True,
    model_dir: str | os.PathLike | None = None,
) -> DatapointUnit:
    """One seed: original, MI-unlearned and baseline models, all audited.

    The held-out rows of MI unlearning's stopping rule are the
    even-numbered test rows (``datapoint.carve_holdout``); every model is
    audited on the odd-numbered test rows only (``sizes["test"]`` counts
    them).

    The original model is trained epoch by epoch (a progress bar per
    epoch); MI unlearning and the baselines advance their bars through the
    library's per-epoch ``callback`` (``jax.debug.callback``; none is
    compiled without ``progress``). MI unlearning is
    ``jaxunlearn.datapoint.unlearn`` and every baseline is its
    ``jaxunlearn.baselines`` function (``retrain`` from the original
    model's initialization, ``finetune``, ``neggrad`` =
    ``neggrad_plus``, ``scrub``), each one compiled call. ``seconds`` are
    wall times excluding JIT compilation: with ``warmup`` every call is
    compiled first by a throw-away call (results are unchanged: every
    function is pure).

    Args:
      data: training and held-out rows.
      config: the run's settings.
      seed: this unit's seed.
      apply_fn: a shared forward pass (reuses compilations across seeds).
      progress: a ``tqdm``-like factory ``progress(total=, desc=)`` or
        ``None`` for no bars.
      warmup: compile before timing (skip when an earlier seed of the same
        shapes already compiled everything).
      model_dir: when given, every model's parameters are saved to
        ``model_dir/seed-S/NAME.npz`` (:func:`jaxunlearn.save_pytree`;
        reload with :func:`load_model`).

    Returns:
      A :class:`DatapointUnit`.
    """
    k_split, k_init, k_train, k_unl, k_base, k_audit = jax.random.split(
        jax.random.key(seed), 6
    )
    split = make_split(data, tuple(config.forget), k_split)
    # MI unlearning stops on the even-numbered test rows (the library's
    # default held-out rows); every model is scored on the odd-numbered
    # ones, never on rows that chose the stopping point.
    x_val, y_val, x_rest, y_rest = datapoint.carve_holdout(
        "data.x_test", split.x_test, split.y_test
    )
    split = split._replace(x_test=x_rest, y_test=y_rest)
    holdout = _holdout_rows(split)
    fn, params0 = _model(data, config.hidden, seed)
    apply_fn = fn if apply_fn is None else apply_fn
    models_out, rocs = {}, {}

    def audited(name, params, seconds):
        if model_dir is not None:
            _save_model(model_dir, seed, name, params, data, config)
        m, roc = audit_model(
            apply_fn,
            params,
            split,
            holdout,
            key=jax.random.fold_in(k_audit, len(models_out)),
            num_bootstrap=config.num_bootstrap,
        )
        m["seconds"] = seconds
        models_out[name] = m
        rocs[name] = roc

    gamma = config.gamma if config.gamma == "auto" else float(config.gamma)
    callback = _RELAY if progress else None

    def unlearn(params):
        return datapoint.unlearn(
            apply_fn,
            params,
            split,
            gamma=gamma,
            epochs=config.unlearn_epochs,
            batch_size=config.batch_size,
            forget_batch_size=config.forget_batch_size,
            learning_rate=config.learning_rate,
            key=k_unl,
            holdout=(x_val, y_val),
            callback=callback,
        )

    def baseline(b, name, params):
        return _baseline(
            name,
            apply_fn,
            params,
            params0,
            split,
            config,
            jax.random.fold_in(k_base, b),
            callback,
        )

    if warmup:
        _compile(
            progress,
            config.baselines,
            lambda: _train_original(
                apply_fn, params0, data, split, config, k_train, None, 1
            ),
            lambda: unlearn(params0).params,
            lambda b, name: baseline(b, name, params0).params,
        )
    bar = _Bar(progress, config.original_epochs, f"seed {seed}: original")
    t0 = time.perf_counter()
    original = _train_original(
        apply_fn, params0, data, split, config, k_train, bar
    )
    jax.block_until_ready(original)
    audited("original", original, time.perf_counter() - t0)
    bar.close()

    bar = _phase(progress, config.unlearn_epochs, f"seed {seed}: MI")
    out, seconds = _timed(lambda: unlearn(original))
    bar.close()
    audited("unlearned", out.params, seconds)
    models_out["unlearned"]["epochs_run"] = int(out.epochs_run)
    if out.target_reached is not None:  # gamma="auto": 1.0 / 0.0 per seed
        models_out["unlearned"]["target_reached"] = float(out.target_reached)
    for b, name in enumerate(config.baselines):
        bar = _phase(progress, None, f"seed {seed}: {name}")
        res, seconds = _timed(
            lambda b=b, name=name: baseline(b, name, original)
        )
        bar.close()
        audited(name, res.params, seconds)
    _RELAY.bar = None
    return DatapointUnit(
        seed=seed,
        sizes={
            "retain": int(split.x_retain.shape[0]),
            "forget": int(split.x_forget.shape[0]),
            "test": int(split.x_test.shape[0]),
            "holdout": int(holdout[0].shape[0]),
        },
        models=models_out,
        history=_history(out.history),
        roc=rocs,
        forget_rows=_source_rows(data, split.forget_indices),
    )


def _train_original(
    apply_fn, params0, data, split, config, key, bar, epochs=None
):
    # The original model: every training row, a progress tick per epoch.
    params, _ = train_epochs(
        apply_fn,
        params0,
        jnp.asarray(data.x),
        jnp.asarray(data.y),
        epochs=config.original_epochs if epochs is None else epochs,
        key=key,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        x_forget=split.x_forget,
        y_forget=split.y_forget,
        forget_batch_size=config.forget_batch_size,
        on_epoch=None
        if bar is None
        else lambda e, loss: bar.update(loss=f"{loss:.3f}"),
    )
    return params


def _compile(progress, names, original, unlearn, baseline):
    # Throw-away calls of every timed function (same shapes and settings);
    # their epoch callbacks feed no bar.
    _RELAY.bar = None
    bar = _Bar(progress, 2 + len(names), "compiling")
    for fn in (original, unlearn):
        jax.block_until_ready(fn())
        bar.update()
    for b, name in enumerate(names):
        jax.block_until_ready(baseline(b, name))
        bar.update()
    bar.close()


def _history(h) -> dict[str, np.ndarray]:
    return {
        "retain_acc": np.asarray(h.retain_acc),
        "forget_acc": np.asarray(h.forget_acc),
        "test_acc": np.asarray(h.test_acc),
        "mi": np.asarray(h.mi),
        "gamma": np.asarray(h.gamma),
        "active": np.asarray(h.active),
    }


def summarize(units: Sequence[DatapointUnit]) -> dict[str, dict[str, Any]]:
    """Mean and standard deviation over seeds of every model's metrics.

    Args:
      units: the per-seed results of :func:`run_datapoint_seed`.

    Returns:
      model name -> ``{metric: mean, ..., "std": {metric: std},
      "n_seeds": S}`` with metrics in :data:`METRICS` (and extras).
    """
    out: dict[str, dict[str, Any]] = {}
    for name in units[0].models:
        keys = list(units[0].models[name])
        vals = {
            k: np.asarray([u.models[name][k] for u in units], np.float64)
            for k in keys
        }
        entry: dict[str, Any] = {k: float(np.mean(v)) for k, v in vals.items()}
        entry["std"] = {k: float(np.std(v)) for k, v in vals.items()}
        entry["n_seeds"] = len(units)
        out[name] = entry
    return out


def validate_config(config: DatapointConfig) -> None:
    """Checks a :class:`DatapointConfig` (user errors raise ValueError).

    Args:
      config: the settings.

    Returns:
      None.

    Raises:
      ValueError: for an unknown baseline, non-positive epochs or sizes,
        a negative gamma or no seeds.
    """
    unknown = [b for b in config.baselines if b not in BASELINES]
    if unknown:
        raise ValueError(
            f"baselines: unknown {unknown}; expected some of"
            f" {', '.join(BASELINES)}"
        )
    for name in (
        "original_epochs",
        "unlearn_epochs",
        "baseline_epochs",
        "batch_size",
        "forget_batch_size",
    ):
        v = getattr(config, name)
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}: expected a positive integer, got {v!r}")
    if config.gamma != "auto" and not float(config.gamma) >= 0:
        raise ValueError(f"gamma: expected a number >= 0, got {config.gamma}")
    if not config.seeds:
        raise ValueError("seeds: expected at least one seed")


def run_datapoint(
    data: ClassificationData,
    config: DatapointConfig,
    *,
    checkpoint: Checkpoint | None = None,
    progress: Callable | None = None,
    model_dir: str | os.PathLike | None = None,
) -> DatapointResult:
    """Every seed of a data-point unlearning run, checkpointed per seed.

    Args:
      data: training and held-out rows.
      config: the settings.
      checkpoint: finished units are read from / written to it.
      progress: a ``tqdm``-like factory, or ``None``.
      model_dir: save every model's parameters under it (see
        :func:`run_datapoint_seed`); a seed's files are written before the
        seed is checkpointed.

    Returns:
      A :class:`DatapointResult`.

    Raises:
      ValueError: on bad settings or a forget spec that does not fit.
    """
    validate_config(config)
    checkpoint = checkpoint or Checkpoint(None, config._asdict())
    apply_fn = _model(data, config.hidden, 0)[0]
    units, warm = [], False
    for seed in config.seeds:
        name = f"seed-{seed}"
        unit = checkpoint.get(name)
        if unit is None:
            result = run_datapoint_seed(
                data,
                config,
                seed,
                apply_fn=apply_fn,
                progress=progress,
                warmup=not warm,
                model_dir=model_dir,
            )
            warm = True
            unit = checkpoint.put(name, result._asdict())
        units.append(DatapointUnit(**unit))
    return DatapointResult(
        config=config,
        data_name=data.name,
        n_train=int(data.x.shape[0]),
        n_test=int(data.x_test.shape[0]),
        num_classes=data.num_classes,
        units=units,
        summary=summarize(units),
    )
