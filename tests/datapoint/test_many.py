import os
import subprocess
import sys
import textwrap

import chex
import jax
import numpy as np
import pytest

from jaxunlearn.datapoint import pad_forget_sets, unlearn, unlearn_many
from tests.datapoint._problems import Split, blobs, tiny_model

KW = {"epochs": 2, "batch_size": 16, "forget_batch_size": 4, "gamma": 2.0}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def _data():
    x, y = blobs(jax.random.key(0), n=70)
    return x[:50], y[:50], x[50:], y[50:]


def _split_for(x, y, xt, yt, forget):
    keep = np.setdiff1d(np.arange(x.shape[0]), forget)
    return Split(x[keep], y[keep], x[forget], y[forget], xt, yt, 3)


FORGET = [np.array([0, 3, 6, 9, 12]), np.array([1, 4]), np.array([7])]


def run_reference_problem(shard=False, request_batch=None):
    """The problem both the sharded and the multi-process tests run."""
    x, y = blobs(jax.random.key(0), n=70)
    apply_fn, params = tiny_model()
    keys = jax.random.split(jax.random.key(5), 2)
    return unlearn_many(
        apply_fn,
        params,
        x[:50],
        y[:50],
        FORGET,
        x[50:],
        y[50:],
        keys=keys,
        shard=shard,
        request_batch=request_batch,
        **KW,
    )


def test_vmapped_requests_equal_separate_runs():
    x, y, xt, yt = _data()
    apply_fn, params = tiny_model()
    keys = jax.random.split(jax.random.key(5), 2)
    out = unlearn_many(apply_fn, params, x, y, FORGET, xt, yt, keys=keys, **KW)
    assert out.history.mi.shape == (3, 2, 2)
    for k, f in enumerate(FORGET):
        for s in range(2):
            ref = unlearn(
                apply_fn, params, _split_for(x, y, xt, yt, f), key=keys[s], **KW
            )
            got = jax.tree.map(lambda a, k=k, s=s: a[k, s], out)
            chex.assert_trees_all_close(
                got.params, ref.params, rtol=2e-4, atol=2e-5
            )
            chex.assert_trees_all_close(
                got.history, ref.history, rtol=2e-4, atol=2e-5
            )


def test_padded_equals_unpadded():
    x, y, xt, yt = _data()
    apply_fn, params = tiny_model()
    keys = jax.random.split(jax.random.key(5), 1)
    tight = unlearn_many(
        apply_fn, params, x, y, FORGET[1:2], xt, yt, keys=keys, **KW
    )
    loose = unlearn_many(
        apply_fn,
        params,
        x,
        y,
        FORGET[1:2],
        xt,
        yt,
        keys=keys,
        max_forget=12,
        **KW,
    )
    chex.assert_trees_all_close(tight, loose, rtol=2e-4, atol=2e-5)


def test_request_groups_equal_all_at_once():
    # 3 requests in groups of 2: one full group and a remainder of 1.
    x, y, xt, yt = _data()
    apply_fn, params = tiny_model()
    keys = jax.random.split(jax.random.key(5), 2)
    kw = {"keys": keys, **KW}
    a = unlearn_many(apply_fn, params, x, y, FORGET, xt, yt, **kw)
    b = unlearn_many(
        apply_fn, params, x, y, FORGET, xt, yt, request_batch=2, **kw
    )
    chex.assert_trees_all_close(a, b, rtol=2e-4, atol=2e-5)
    with pytest.raises(ValueError, match="request_batch"):
        unlearn_many(
            apply_fn, params, x, y, FORGET, xt, yt, request_batch=0, **kw
        )


def test_pad_forget_sets_bad_input():
    with pytest.raises(ValueError, match=r"forget_sets\[0\]: expected indices"):
        pad_forget_sets([[0, 9]], 5)
    with pytest.raises(ValueError, match="distinct"):
        pad_forget_sets([[1, 1]], 5)
    with pytest.raises(ValueError, match="non-empty"):
        pad_forget_sets([np.array([], np.int32)], 5)
    with pytest.raises(ValueError, match="retain set"):
        pad_forget_sets([[0, 1, 2]], 3)
    with pytest.raises(ValueError, match="max_forget"):
        pad_forget_sets([[0, 1, 2]], 5, max_forget=2)
    with pytest.raises(ValueError, match="forget_sets: expected at least"):
        pad_forget_sets([], 5)


def test_unlearn_many_bad_input():
    x, y, xt, yt = _data()
    apply_fn, params = tiny_model()
    keys = jax.random.split(jax.random.key(0), 1)
    with pytest.raises(ValueError, match="y_train: expected labels"):
        unlearn_many(apply_fn, params, x, y + 3, FORGET, xt, yt, keys=keys)
    with pytest.raises(ValueError, match="gamma"):
        unlearn_many(
            apply_fn, params, x, y, FORGET, xt, yt, keys=keys, gamma=-1.0
        )
    with pytest.raises(ValueError, match="x_train: the model cannot"):
        unlearn_many(
            apply_fn, params, x[:, :2], y, FORGET, xt[:, :2], yt, keys=keys
        )
    with pytest.raises(ValueError, match="keys"):
        unlearn_many(
            apply_fn, params, x, y, FORGET, xt, yt, keys=jax.random.key(0)
        )


SHARDED = textwrap.dedent(
    """
    import os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    os.environ["JAX_PLATFORMS"] = "cpu"
    import jax, numpy as np
    jax.config.update("jax_numpy_dtype_promotion", "strict")
    jax.config.update("jax_numpy_rank_promotion", "raise")
    assert jax.device_count() == 4, jax.devices()
    from tests.datapoint.test_many import run_reference_problem
    a = run_reference_problem(shard=True)
    b = run_reference_problem(shard=False)
    c = run_reference_problem(shard=True, request_batch=2)
    assert len(a.history.mi.sharding.device_set) == 4
    for u, v, w in zip(jax.tree.leaves(a), jax.tree.leaves(b),
                       jax.tree.leaves(c)):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=2e-4,
                                   atol=2e-5)
        np.testing.assert_allclose(np.asarray(w), np.asarray(v), rtol=2e-4,
                                   atol=2e-5)
    print("SHARDED-OK", a.history.mi.shape)
    """
)


@pytest.mark.slow
def test_sharded_equals_unsharded_on_4_cpu_devices():
    env = {**os.environ, "PYTHONPATH": ROOT}
    env.pop("XLA_FLAGS", None)
    res = subprocess.run(
        [sys.executable, "-c", SHARDED],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "SHARDED-OK (3, 2, 2)" in res.stdout


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_equal_single_process(tmp_path):
    out = tmp_path / "two.npz"
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": ROOT}
    env.pop("XLA_FLAGS", None)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.datapoint._distributed_worker",
                str(i),
                str(port),
                str(out),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    errs = []
    for p in procs:
        try:
            _, err = p.communicate(timeout=400)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        errs.append(err)
    assert all(p.returncode == 0 for p in procs), "\n".join(
        e[-2000:] for e in errs
    )
    ref = run_reference_problem(shard=False)
    got = np.load(out)
    leaves = jax.tree.leaves((ref.params, ref.history))
    assert len(got.files) == len(leaves)
    for i, leaf in enumerate(leaves):
        np.testing.assert_allclose(
            got[f"arr_{i}"], np.asarray(leaf), rtol=2e-4, atol=2e-5
        )
