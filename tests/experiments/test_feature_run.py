"""The CLI's feature path hands the audited neural settings to feature.fit."""

import numpy as np
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


def test_tables_are_repaired_on_their_own_columns(tmp_path):
    # A CSV's run fits the repair on the table (a DataFrame: categories come
    # back as labels) and audits the one-hot design of the repaired table;
    # t = 0 gives the input's design back.
    import numpy as np  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415

    from jaxunlearn.experiments import _tables  # noqa: PLC0415

    rng = np.random.default_rng(0)
    n = 80
    g = rng.integers(0, 2, n)
    table = pd.DataFrame(
        {
            "num": rng.normal(size=n) + g,
            "colour": np.where(rng.random(n) < 0.3 + 0.4 * g, "red", "blue"),
            "group": np.array(["a", "b"])[g],
            "y": rng.integers(0, 2, n),
        }
    )
    table.loc[int(np.flatnonzero(g == 1)[-1]), "colour"] = "green"  # 1 row
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    data = experiments.load_feature_data(f"csv:{path}", "group")
    assert data.codec.columns == ("num", "colour")
    assert data.columns == ("num", "colour=blue", "colour=green", "colour=red")
    # A repair fitted on some rows knows the categories of the others.
    one = _tables.feature_frame(data.codec, data.table, [0])
    assert list(one["colour"].cat.categories) == ["blue", "green", "red"]
    np.testing.assert_array_equal(
        _tables.encode_table(data.codec, data.table), data.x
    )
    res = experiments.run_feature(
        data, method="quantile", ts=(0.0, 1.0), auditors=("logistic",)
    )
    tr, te = res.split.rows_train, res.split.rows_test
    assert sorted([*tr, *te]) == list(range(n))
    assert res.repair.frame.columns == ("num", "colour")
    assert res.repair.labels == ("a", "b")
    same_tr, same_te = res.tables[0]
    assert same_te["colour"].tolist() == table["colour"].iloc[te].tolist()
    np.testing.assert_allclose(res.repaired_train[0], data.x[tr], atol=1e-6)
    full_tr, _ = res.tables[1]
    assert list(full_tr.index) == list(tr)
    assert set(full_tr["colour"]) <= {"red", "blue", "green"}
    assert not np.allclose(full_tr["num"], table["num"].iloc[tr])


def test_image_boosting_auditor_reads_pca_codes():
    # Images: boosting is trained on the top PCA codes of the repaired
    # training rows (fitted without Z), the logistic auditor on every pixel;
    # Z planted along the leading direction is read through the codes.
    from sklearn.decomposition import PCA
    from threadpoolctl import threadpool_limits

    from jaxunlearn import audit

    rng = np.random.default_rng(0)
    n_tr, n_te, d = 120, 80, 100
    z = rng.integers(0, 2, n_tr + n_te)
    x = 0.1 * rng.normal(size=(n_tr + n_te, d)).astype(np.float32)
    x[:, :10] += 2.0 * z[:, None]
    split = experiments.FeatureSplit(
        x[:n_tr], z[:n_tr], None, x[n_tr:], z[n_tr:], None
    )
    tr, te = x[:n_tr], x[n_tr:]
    got = _feature_run._audit(
        tr, te, split, tr, ("logistic", "boosting"), 0, codes=8
    )
    with threadpool_limits(1):  # OpenMP boosting on a loaded CPU crawls
        pca = PCA(8, svd_solver="randomized", random_state=0).fit(tr)
        codes = audit.strict_leakage_auc(pca.transform(te), z[n_tr:])
        logistic = audit.strict_leakage_auc(te, z[n_tr:], model="logistic")
    assert got["auc_boosting"] == codes > 0.9
    assert got["auc_logistic"] == logistic
