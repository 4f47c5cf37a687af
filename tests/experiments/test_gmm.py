import math

import jax
import jax.numpy as jnp
import pytest

from jaxunlearn.experiments import format_table, gmm_reproduction


@pytest.mark.slow
def test_gmm_small_table():
    # The configuration of the CLI's test (``reproduce gmm --size 40 --seeds 2
    # --epochs 2``): the run's compilation cache serves whichever runs second.
    res = gmm_reproduction(key=jax.random.key(0), n=40, seeds=2, epochs=2)
    assert list(res.rows)[:4] == [
        "original", "retrain", "mi_unlearning", "mi_unlearning_direct",
    ]  # fmt: skip
    assert {"finetune", "neggrad", "scrub"} <= set(res.rows)
    for row in res.rows.values():
        assert 0 <= row["accuracy_mean"] <= 1
        assert 0 <= row["p_forget_mean"] <= 1
        assert row["accuracy_std"] >= 0
        # Both estimators on X plus x: the plug-in MI and the authors'.
        assert 0 <= row["mi_mean"] <= math.log(2)
        assert row["mi_direct_mean"] >= 0
    assert res.rows["mi_unlearning_direct"]["p_forget_paper"] == 0.781
    assert res.rows["original"]["accuracy_paper"] == 0.933
    assert res.rows["mi_unlearning"]["p_forget_paper"] == 0.781
    assert len(res.curves["mi_unlearning"]["mi"]) == 5
    table = format_table(res, metrics=("accuracy", "p_forget"))
    assert "| mi_unlearning |" in table
    assert res.config["seeds"] == 2


def test_gmm_bad_input():
    with pytest.raises(ValueError, match="seeds"):
        gmm_reproduction(key=jax.random.key(0), seeds=0)


def test_direct_regularizer_lowers_the_authors_estimate():
    from flax import nnx  # noqa: PLC0415

    from jaxunlearn.experiments._gmm import _direct_unlearn  # noqa: PLC0415
    from jaxunlearn.info import prediction_mi_direct  # noqa: PLC0415
    from jaxunlearn.models import MLP, functional  # noqa: PLC0415

    k1, k2 = jax.random.split(jax.random.key(0))
    x = jax.random.normal(k1, (40, 3))
    y = (x[:, 0] > 0).astype(jnp.int32)
    z = jnp.arange(40, dtype=jnp.int32) % 2
    apply_fn, p0 = functional(MLP(3, (8,), 2, rngs=nnx.Rngs(0)))

    def estimate(gamma):
        p = _direct_unlearn(
            apply_fn, p0, x, y, z, gamma=gamma, epochs=20, lr=0.05
        )
        probs = jax.nn.softmax(apply_fn(p, x))
        return float(prediction_mi_direct(probs, z, num_groups=2))

    assert estimate(10.0) < 0.5 * estimate(0.0)
