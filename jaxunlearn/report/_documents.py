"""Report sections of the end-to-end runs (data-point, feature, demo).

Turns the results of ``jaxunlearn.experiments.run_datapoint`` and
``run_feature`` into :class:`Section` lists with PNG figures, and a metrics
dictionary for ``metrics.json``; :func:`write_report` renders them.
"""

import os
from typing import Any

import numpy as np

from jaxunlearn.report._plots import (
    plot_group_histograms,
    plot_image_grid,
    plot_pareto,
    plot_roc,
    plot_training_curves,
)
from jaxunlearn.report._writer import Section

_MODEL_TEXT = {
    "original": "trained on every training row",
    "unlearned": "MI unlearning (this library)",
    "retrain": "retrained from scratch without the forget rows (the gold"
    " reference)",
    "finetune": "original fine-tuned on the retain rows",
    "neggrad": "NegGrad+: fine-tune minus a weighted forget loss",
}


def roc_curve(scores: Any, is_member: Any) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates of a score at every threshold.

    Args:
      scores: ``[n]`` attack scores, higher = member.
      is_member: ``[n]`` booleans.

    Returns:
      ``(fpr, tpr)``, each ``[k]`` from ``(0, 0)`` to ``(1, 1)``.
    """
    s = np.asarray(scores, float)
    m = np.asarray(is_member, bool)
    order = np.argsort(-s, kind="stable")
    s, m = s[order], m[order]
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tp = np.cumsum(m)[last]
    fp = np.cumsum(~m)[last]
    tpr = np.r_[0.0, tp / max(m.sum(), 1)]
    fpr = np.r_[0.0, fp / max((~m).sum(), 1)]
    return fpr, tpr


def datapoint_sections(
    result: Any,
    out_dir: str | os.PathLike,
    *,
    prefix: str = "",
    figures: bool = True,
) -> tuple[list[Section], dict[str, Any]]:
    """Sections and metrics of a data-point unlearning run.

    Args:
      result: the output of ``experiments.run_datapoint``.
      out_dir: where the PNG figures go.
      prefix: file-name prefix of the figures.
      figures: draw the figures (needs matplotlib); False gives the results
        table alone, with one line saying the figures were left out.

    Returns:
      ``(sections, metrics)``: a results table, the training curves of MI
      unlearning (mean +- std over seeds, retrain levels dashed), the
      membership-attack ROC, and ``metrics`` = model -> figures.
    """
    out_dir = os.fspath(out_dir)
    summary = result.summary
    units = result.units
    cfg = result.config
    rows = []
    for name, m in summary.items():
        std = m["std"]
        many = m["n_seeds"] > 1

        def cell(k, m=m, std=std, many=many):
            return (m[k], std[k]) if many else m[k]

        rows.append(
            {
                "model": name,
                "retain acc": cell("retain_acc"),
                "forget acc": cell("forget_acc"),
                "test acc": cell("test_acc"),
                "I(Y_hat; Z) [nats]": cell("mi"),
                "MIA AUC": cell("mia_auc"),
                "seconds": cell("seconds"),
            }
        )
    sizes = units[0].sizes
    forget = cfg.forget
    what = (
        f"{forget[2]:.0%} of the training rows of class {forget[1]}"
        if forget[0] == "class"
        else f"{len(forget[1])} given training rows"
    )
    text = (
        f"Data: {result.data_name} ({result.n_train} training"
        f" rows, {result.n_test} held out). Forget {what}:"
        f" {sizes['forget']} rows; {sizes['retain']} retained. Seeds:"
        f" {len(units)} ({', '.join(str(u.seed) for u in units)}).\n\n"
        "Accuracies are fractions. I(Y_hat; Z) is the plug-in mutual"
        " information between the model's soft predictions and membership,"
        " forget rows against held-out rows of the same classes (0 = the"
        " model treats them alike). MIA AUC is the loss-threshold membership"
        " attack on the same rows (0.5 = blind). Seconds are wall times"
        " excluding JIT compilation.\n\n"
        + " ".join(f"{k}: {v}." for k, v in _MODEL_TEXT.items() if k in summary)
    )
    metrics = {"datapoint": {"summary": summary, "config": cfg._asdict()}}
    if not figures:
        text += (
            "\n\nFigures left out: matplotlib is not installed (pip install"
            " 'jaxunlearn[plot]') or the run asked for JSON only."
        )
        return [Section("Data-point unlearning: results", text, rows)], metrics
    sections = [Section("Data-point unlearning: results", text, rows)]
    epochs_run = max(
        int(u.models["unlearned"].get("epochs_run", 0)) for u in units
    )
    n_ep = max(epochs_run, 1)
    # Epoch 0 is the original model (audited accuracies; its training-time
    # MI is not defined, so NaN leaves that point out).
    hist = {
        k: np.asarray(
            [[u.models["original"][k], *u.history[k][:n_ep]] for u in units],
            float,
        )
        for k in ("retain_acc", "forget_acc", "test_acc")
    }
    hist["mi"] = np.asarray(
        [[np.nan, *u.history["mi"][:n_ep]] for u in units], float
    )
    ref = summary.get("retrain")
    curves = plot_training_curves(
        hist,
        os.path.join(out_dir, f"{prefix}training_curves.png"),
        title="MI unlearning per epoch (mean ± std over seeds)",
        first_epoch=0,
        retrain=None
        if ref is None
        else {k: ref[k] for k in ("retain_acc", "forget_acc", "test_acc")},
    )
    roc = {}
    for name in ("original", "unlearned", "retrain"):
        if name in units[0].roc:
            r = units[0].roc[name]
            fpr, tpr = roc_curve(r["scores"], r["is_member"])
            roc[name] = (fpr, tpr, float(units[0].models[name]["mia_auc"]))
    roc_path = plot_roc(
        roc,
        os.path.join(out_dir, f"{prefix}mia_roc.png"),
        title=f"Membership attack ROC, forget vs held-out (seed"
        f" {units[0].seed})",
    )
    gamma = cfg.gamma
    sections.append(
        Section(
            "Data-point unlearning: curves",
            "Retain, forget and test accuracy and I(Y_hat; Z) (mean over the"
            " epoch's batches) of the model during MI unlearning, per epoch;"
            " epoch 0 is the original model; dashed lines are the retrained"
            f" model's accuracies. gamma = {gamma}"
            + (
                " (the calibrated controller: MI fine-tuning at a small"
                " weight, stopping once the forget accuracy reaches a"
                " linear-probe estimate of the retrained model's)"
                if gamma == "auto"
                else ""
            )
            + f"; epochs run: {epochs_run}.",
            figures=[curves, roc_path],
            captions=[
                "MI unlearning: accuracies (left) and I(Y_hat; Z) (right)",
                "Loss-threshold membership attack ROC",
            ],
        )
    )
    return sections, metrics


def _group_features(before, z, k=3):
    codes = np.unique(z)
    means = np.stack([before[z == c].mean(0) for c in codes])
    spread = before.std(0) + 1e-12
    score = (means.max(0) - means.min(0)) / spread
    score[before.std(0) < 1e-9] = -np.inf
    return [int(i) for i in np.argsort(-score)[:k]]


def feature_sections(
    result: Any,
    data: Any,
    out_dir: str | os.PathLike,
    *,
    prefix: str = "",
) -> tuple[list[Section], dict[str, Any]]:
    """Sections and metrics of a feature unlearning run.

    Args:
      result: the output of ``experiments.run_feature``.
      data: the ``experiments.FeatureData`` it ran on.
      out_dir: where the PNG figures go.
      prefix: file-name prefix of the figures.

    Returns:
      ``(sections, metrics)``: the audit along ``t`` (table and Pareto
      plot), group histograms before / after the full repair and, for
      images, a grid of original, partly and fully repaired images.
    """
    out_dir = os.fspath(out_dir)
    path = result.path
    ts = [p["t"] for p in path]
    rows = []
    for p in path:
        row = {"t": p["t"]}
        for k, v in p.items():
            if k.startswith("auc_"):
                row[f"Z AUC ({k[4:]})"] = v
        for k, v in p.items():
            if k.startswith("insample_auc_"):
                row[f"Z AUC ({k[13:]}, in-sample-trained auditor)"] = v
        row["MI bound [nats]"] = p["mi"]
        row["Y accuracy"] = p["accuracy"]
        row["distortion"] = p["distortion"]
        rows.append(row)
    split = result.split
    groups = ", ".join(
        f"{n} ({int((split.z_train == i).sum())})"
        for i, n in enumerate(data.group_names)
    )
    text = (
        f"Data: {data.name}, {split.x_train.shape[0]} training and"
        f" {split.x_test.shape[0]} held-out rows, {data.x.shape[1]}"
        f" features. Z groups (training rows): {groups}. Method:"
        f" {result.method}.\n\n"
        "Each level t repairs X to (1 - t) X + t T_Z(X), T_z the optimal map"
        " of group z onto the Wasserstein barycenter of the groups. Z AUC:"
        " the strict audit, an auditor trained and scored by stratified"
        " 5-fold cross-validation on repaired held-out rows the repair was"
        " never fitted on (0.5 = nothing left); the in-sample-trained"
        " auditor (trained on the repaired training rows, the weaker"
        " protocol) is shown apart; MI bound: variational lower bound on"
        " I(X_t; Z); Y accuracy: held-out accuracy of a downstream"
        " classifier on repaired rows; distortion: mean ||X - X_t||^2."
    )
    full_aucs = {k[4:]: v for k, v in path[-1].items() if k.startswith("auc_")}
    worst = max(full_aucs, key=lambda k: full_aucs[k])
    if full_aucs[worst] - 0.5 > 0.03:
        text += (
            f"\n\n**The strict audit still reads Z at t = {path[-1]['t']:g}:**"
            f" AUC {full_aucs[worst]:.3f} by the {worst} auditor (0.5 = none)."
        )
    sections = [Section("Feature unlearning: leakage along t", text, rows)]
    auc_key = f"auc_{worst}"  # the auditor that reads Z best at full repair
    figs, caps = [], []
    figs.append(
        plot_pareto(
            ts,
            [p["distortion"] for p in path],
            [p[auc_key] for p in path],
            os.path.join(out_dir, f"{prefix}pareto.png"),
            leakage_label=f"held-out AUC of Z ({auc_key[4:]} auditor)",
            title="Distortion vs leakage of Z along t",
        )
    )
    caps.append("Pareto frontier: distortion against Z leakage along t")
    before = split.x_train
    full = result.repaired_train[-1]
    cols = _group_features(before, split.z_train)
    figs.append(
        plot_group_histograms(
            before,
            full,
            split.z_train,
            os.path.join(out_dir, f"{prefix}group_histograms.png"),
            feature_names=list(data.columns),
            features=cols,
            group_names=list(data.group_names),
        )
    )
    caps.append(
        f"Group distributions before / after the repair at t = {ts[-1]:g}"
        " (the most Z-dependent features)"
    )
    if data.image_shape is not None:
        h, w = data.image_shape
        z = split.z_test
        pick = np.r_[np.flatnonzero(z == 0)[:4], np.flatnonzero(z == 1)[:4]]
        rows_img = {"original": split.x_test[pick].reshape(-1, h, w)}
        mid = int(np.argmin(np.abs(np.asarray(ts) - 0.5)))
        if 0 < mid < len(ts) - 1:
            rows_img[f"t = {ts[mid]:g}"] = result.repaired_test[mid][
                pick
            ].reshape(-1, h, w)
        rows_img[f"t = {ts[-1]:g}"] = result.repaired_test[-1][pick].reshape(
            -1, h, w
        )
        names = data.group_names
        figs.append(
            plot_image_grid(
                rows_img,
                os.path.join(out_dir, f"{prefix}image_grid.png"),
                title=f"Held-out images: 4 {names[0]}, then 4 {names[1]}",
            )
        )
        caps.append("Original, partly and fully repaired images")
    sections.append(
        Section("Feature unlearning: figures", "", figures=figs, captions=caps)
    )
    metrics = {
        "feature": {
            "data": data.name,
            "method": result.method,
            "groups": list(data.group_names),
            "path": list(path),
        }
    }
    return sections, metrics
