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
