"""The CLI's feature path hands the audited neural settings to feature.fit."""

import pytest

from jaxunlearn import experiments
from jaxunlearn.experiments import _feature_run


class _Stop(Exception):
    pass


@pytest.mark.parametrize("data_name", ["digits", "compas"])
def test_neural_options_follow_the_data(monkeypatch, data_name):
    seen = {}

    def fake_fit(x, z, *, method, options):
        seen.update(method=method, options=options, d=x.shape[1])
        raise _Stop

    monkeypatch.setattr(_feature_run.feature, "fit", fake_fit)
    attribute = "thickness" if data_name == "digits" else "sex"
    data = experiments.load_feature_data(data_name, attribute)
    with pytest.raises(_Stop):
        experiments.run_feature(
            data, method="neural", max_rows=300, neural_iterations=7
        )
    options = seen["options"]
    assert seen["method"] == "neural"
    assert options["num_iterations"] == 7
    if data_name == "digits":
        assert options["image_shape"] == [8, 8]
        assert options["prior_components"] == 32
        assert options["learning_rate_t"] == options["learning_rate_f"] == 1e-4
    else:
        assert "prior_components" not in options
        assert "image_shape" not in options


def test_semidiscrete_run_passes_the_strict_audit_on_compas():
    # The run's default auditors are strict (trained and scored by CV on
    # repaired held-out rows); the semidiscrete method leaves them at or
    # below chance at full repair while the unrepaired level reads Z. (Out of
    # fold, an auditor of rows that take few distinct values can score below
    # 0.5: a row's atom has fewer of its group in the scored fold when the
    # training folds had more. Only an AUC above 0.5 reads Z.)
    data = experiments.load_feature_data("compas", "race_binary")
    res = experiments.run_feature(
        data, method="semidiscrete", ts=(0.0, 1.0), max_rows=1500, seed=0
    )
    first, last = res.path[0], res.path[-1]
    assert {"auc_boosting", "insample_auc_boosting"} <= set(last)
    assert first["auc_logistic"] > 0.6
    assert last["auc_logistic"] < 0.56 and last["auc_boosting"] < 0.56
