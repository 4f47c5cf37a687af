import jax
import pytest

from jaxunlearn.experiments import format_table, gmm_reproduction


@pytest.mark.slow
def test_gmm_small_table():
    # The configuration of the CLI's test (``reproduce gmm --size 40 --seeds 2
    # --epochs 2``): the run's compilation cache serves whichever runs second.
    res = gmm_reproduction(key=jax.random.key(0), n=40, seeds=2, epochs=2)
    assert list(res.rows)[:3] == ["original", "retrain", "mi_unlearning"]
    assert {"finetune", "neggrad", "scrub"} <= set(res.rows)
    for row in res.rows.values():
        assert 0 <= row["accuracy_mean"] <= 1
        assert 0 <= row["p_forget_mean"] <= 1
        assert row["accuracy_std"] >= 0
    assert res.rows["original"]["accuracy_paper"] == 0.933
    assert res.rows["mi_unlearning"]["p_forget_paper"] == 0.781
    assert len(res.curves["mi_unlearning"]["mi"]) == 5
    table = format_table(res, metrics=("accuracy", "p_forget"))
    assert "| mi_unlearning |" in table
    assert res.config["seeds"] == 2


def test_gmm_bad_input():
    with pytest.raises(ValueError, match="seeds"):
        gmm_reproduction(key=jax.random.key(0), seeds=0)
