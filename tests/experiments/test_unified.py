import jax
import numpy as np
import pytest

from jaxunlearn.experiments import (
    discrete_examples,
    discrete_objectives,
    discrete_outcomes,
    gaussian_example,
    gaussian_outcomes,
    quantile_barycenter_outcome,
    rearrangement_outcome,
)

INFO = ("neg_conditional_entropy", "kl_form", "conditional_energy")
LOG2 = np.log(2.0)


@pytest.fixture(scope="module")
def results():
    return {
        name: discrete_outcomes(*ex, key=jax.random.key(0), n_random=8)
        for name, ex in discrete_examples().items()
    }


def test_transport_barycenter_is_the_sorted_coupling():
    # quantile_barycenter_outcome goes through transport.quantile_barycenter;
    # the north-west-corner coupling of sorted atoms is the same outcome.
    rng = np.random.default_rng(0)
    for _ in range(5):
        mu = rng.dirichlet(np.ones(5), size=3)
        mu[1] = np.round(mu[1] * 4) + (np.arange(5) == 0)  # shared levels
        mu /= mu.sum(1, keepdims=True)
        w, x = rng.dirichlet(np.ones(3)), rng.normal(size=5)
        a = quantile_barycenter_outcome(w, mu, x)
        b = rearrangement_outcome(w, mu, x, [np.argsort(x)] * 3)
        np.testing.assert_allclose(a.support, b.support, atol=1e-12)
        np.testing.assert_allclose(a.kernel, b.kernel, atol=1e-8)


def test_known_answers():
    w, mu, x = discrete_examples()["disjoint"]
    bary = quantile_barycenter_outcome(w, mu, x)
    np.testing.assert_allclose(np.sort(bary.support), [5, 5.5, 6.5, 7])
    obj = discrete_objectives(w, mu, x, bary)
    np.testing.assert_allclose(obj.entropy, np.log(4), rtol=1e-12)
    np.testing.assert_allclose(obj.kl_form, 1.5 * LOG2, rtol=1e-12)
    np.testing.assert_allclose(obj.neg_conditional_entropy, -LOG2, rtol=1e-12)
    np.testing.assert_allclose(obj.conditional_energy, 0.5, rtol=1e-12)
    np.testing.assert_allclose(obj.neg_distortion, -20.375, rtol=1e-12)
    w, mu, x = discrete_examples()["overlap"]
    obj = discrete_objectives(w, mu, x, quantile_barycenter_outcome(w, mu, x))
    np.testing.assert_allclose(obj.kl_form, 0.4 * LOG2, rtol=1e-12)
    np.testing.assert_allclose(obj.conditional_energy, 0.7, rtol=1e-12)


def test_every_outcome_is_z_independent(results):
    for res in results.values():
        for name, obj in res.items():
            assert obj.dependence < 1e-12, name


def test_barycenter_best_on_every_objective_but_entropy(results):
    for ex, res in results.items():
        bary = res["barycenter"]
        for name, obj in res.items():
            for field in (*INFO, "neg_distortion"):
                assert getattr(obj, field) <= getattr(bary, field) + 1e-10, (
                    ex,
                    name,
                    field,
                )
        # Strictly better than the non-extremal comparators on all of them.
        for name in ("constant", "random_coarsening"):
            for field in (*INFO, "neg_distortion", "entropy"):
                assert getattr(res[name], field) < getattr(bary, field) - 1e-6


def test_disjoint_supports_extremal_outcomes_tie_on_information(results):
    # With disjoint supports every extremal outcome attains the optimum of
    # the information objectives; only the distortion picks the barycenter.
    for ex in ("disjoint", "unequal"):
        res = results[ex]
        bary = res["barycenter"]
        extremal = [n for n in res if n.startswith(("random_extremal", "rev"))]
        for name in extremal:
            for field in INFO:
                np.testing.assert_allclose(
                    getattr(res[name], field), getattr(bary, field), atol=1e-10
                )
        assert res["reversed"].neg_distortion < bary.neg_distortion - 1e-6


def test_entropy_is_not_maximised_by_the_barycenter(results):
    # Finding: an independent coin adds log 2 to H(X_hat) and changes no
    # other information objective.
    for res in results.values():
        bary, noisy = res["barycenter"], res["noisy_barycenter"]
        np.testing.assert_allclose(noisy.entropy, bary.entropy + LOG2)
        for field in INFO:
            np.testing.assert_allclose(
                getattr(noisy, field), getattr(bary, field), atol=1e-10
            )
    # Even among extremal outcomes: a non-monotone coupling splits more.
    res = results["unequal"]
    best = max(v.entropy for n, v in res.items() if n.startswith("random_ex"))
    assert best > res["barycenter"].entropy + 1e-3


def test_overlap_extremal_outcomes_differ(results):
    # Finding: the flip X_hat = X xor Z is extremal but carries no
    # information about X; the barycenter keeps 0.4 log 2.
    res = results["overlap"]
    assert res["reversed"].kl_form == pytest.approx(0.0, abs=1e-12)
    assert res["barycenter"].kl_form > 0.27


def test_gaussian_distortion_and_findings():
    p = gaussian_example()
    res = gaussian_outcomes(p, key=jax.random.key(1))
    bary = res["barycenter"]
    # Closed form: sum_z lambda_z [|m_z - m_bar|^2 + |sqrt s_z - sqrt s_bar|^2].
    m_bar = p.weights @ p.means
    root = p.weights @ np.sqrt(p.eigvals)
    expected = p.weights @ (
        np.sum((p.means - m_bar) ** 2, 1)
        + np.sum((np.sqrt(p.eigvals) - root) ** 2, 1)
    )
    np.testing.assert_allclose(-bary.neg_distortion, expected, rtol=1e-12)
    for name, obj in res.items():
        assert obj.dependence < 1e-10, name
        if name != "barycenter":
            assert obj.neg_distortion < bary.neg_distortion - 1e-6, name
    # Findings: rescaling is extremal and has d log 2 more entropy; the
    # information objectives are +inf even for a rank-1 projection.
    np.testing.assert_allclose(
        res["rescaled_barycenter"].differential_entropy,
        bary.differential_entropy + 2 * LOG2,
        rtol=1e-12,
    )
    assert bary.information_is_infinite
    assert res["random_projection"].information_is_infinite
    assert not res["sign_quantisation"].information_is_infinite


def test_gaussian_sign_quantisation_matches_monte_carlo():
    # Monte-Carlo check of the closed-form distortion; n = 2e5 draws, the
    # squared error has sd < 15, so 4 sd / sqrt(n) < 0.14.
    p = gaussian_example()
    rng = np.random.default_rng(0)
    n = 200_000
    z = rng.random(n) < p.weights[1]
    zi = z.astype(int)
    coords = p.means[zi] @ p.basis + rng.standard_normal((n, 2)) * np.sqrt(
        p.eigvals[zi]
    )  # eigen-coordinates of X
    m_bar = p.weights @ p.means @ p.basis
    root = p.weights @ np.sqrt(p.eigvals)
    t = m_bar + (coords - p.means[zi] @ p.basis) * root / np.sqrt(p.eigvals[zi])
    q = m_bar + np.sqrt(2 / np.pi) * root * np.sign(t - m_bar)
    mc = np.mean(np.sum((coords - q) ** 2, 1))
    res = gaussian_outcomes(p, key=jax.random.key(1))
    np.testing.assert_allclose(
        -res["sign_quantisation"].neg_distortion, mc, atol=0.14
    )


def test_bad_input():
    w, mu, x = discrete_examples()["overlap"]
    with pytest.raises(ValueError, match="group_probs: expected rows"):
        quantile_barycenter_outcome(w, mu * 2, x)
    with pytest.raises(ValueError, match="x_support: expected shape"):
        quantile_barycenter_outcome(w, mu, x[:1])
    with pytest.raises(ValueError, match="weights: expected 2 weights"):
        quantile_barycenter_outcome(np.ones(3) / 3, mu, x)
