"""The ``jaxunlearn`` command end to end at tiny sizes (in-process)."""

import json
import os

import numpy as np
import pytest

from jaxunlearn import cli
from jaxunlearn.cli import _output
from jaxunlearn.experiments import _checkpoint

MODEL_KEYS = {"retain_acc", "forget_acc", "test_acc", "seconds", "mi"}
MODEL_KEYS |= {"mia_auc"}
TINY = [
    "--original-epochs",
    "2",
    "--epochs",
    "2",
    "--baseline-epochs",
    "1",
    "--hidden",
    "8",
    "--batch-size",
    "32",
]


def _run(capsys, argv):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _nonempty(path):
    assert os.path.isfile(path), path
    assert os.path.getsize(path) > 0, path


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 160
    g = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 2)) + g[:, None]
    colour = np.where(rng.uniform(size=n) < 0.5, "red", "blue")
    y = (x[:, 0] + rng.normal(size=n) > 0.5).astype(int)
    path = tmp_path_factory.mktemp("csv") / "toy.csv"
    lines = ["a,b,colour,group,y"] + [
        f"{x[i, 0]:.5f},{x[i, 1]:.5f},{colour[i]},{'gf'[g[i]]},{y[i]}"
        for i in range(n)
    ]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def npz_file(tmp_path_factory):
    rng = np.random.default_rng(1)
    n = 150
    y = rng.integers(0, 3, n)
    x = rng.normal(size=(n, 4)).astype(np.float32) + y[:, None]
    path = tmp_path_factory.mktemp("npz") / "toy.npz"
    np.savez(path, x=x, y=y)
    return str(path)


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["feature", "--data", "nosuch", "--attribute", "sex"], "unknown"),
        (
            ["datapoint", "--data", "mnist9", "--forget", "class:3:0.5"],
            "unknown",
        ),
        (
            ["feature", "--data", "csv:/no/such.csv", "--attribute", "a"],
            "no such file",
        ),
        (
            [
                "datapoint",
                "--data",
                "npz:/no/such.npz",
                "--forget",
                "class:1:1",
            ],
            "no such file",
        ),
        (["feature", "--data", "digits", "--attribute", "smile"], "thickness"),
        (["datapoint", "--data", "digits", "--forget", "class:x"], "class:C"),
        (
            [
                "feature",
                "--data",
                "digits",
                "--attribute",
                "ink",
                "--t",
                "0,1.5",
            ],
            r"\[0, 1\]",
        ),
        (
            ["feature", "--data", "digits", "--attribute", "ink", "--t", "a,b"],
            "numbers",
        ),
        (
            [
                "feature",
                "--data",
                "digits",
                "--attribute",
                "ink",
                "--method",
                "x",
            ],
            "method",
        ),
        (
            [
                "datapoint",
                "--data",
                "digits",
                "--forget",
                "class:3:0.5",
                "--gamma",
                "-1",
            ],
            "gamma",
        ),
        (
            [
                "datapoint",
                "--data",
                "digits",
                "--forget",
                "class:3:0.5",
                "--baselines",
                "magic",
            ],
            "baselines",
        ),
        (["frobnicate"], "invalid choice"),
        (["feature", "--attribute", "sex"], "required"),
    ],
)
def test_bad_arguments_one_line_exit_2(capsys, argv, match, tmp_path):
    code, out, err = _run(capsys, [*argv, "--out", str(tmp_path)])
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("jaxunlearn: error:")
    assert "Traceback" not in err
    import re

    assert re.search(match, lines[0]), lines[0]


def test_bad_files_exit_2(capsys, tmp_path, csv_file):
    garbage = tmp_path / "bad.npz"
    garbage.write_bytes(b"not a zip file")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,g\n1,2,x\n1,2,3,4,5\n1,2,y\n3,4,x\n")
    cases = [
        (
            ["feature", "--data", f"npz:{garbage}", "--attribute", "z"],
            "cannot read",
        ),
        (
            ["feature", "--data", f"csv:{ragged}", "--attribute", "g"],
            "cannot parse",
        ),
        (
            ["feature", "--data", f"csv:{csv_file}", "--attribute", "sex"],
            "not in",
        ),
        (
            [
                "datapoint",
                "--data",
                "digits",
                "--forget",
                f"indices:{tmp_path}/none.txt",
            ],
            "cannot read",
        ),
    ]
    for argv, match in cases:
        code, _, err = _run(capsys, [*argv, "--out", str(tmp_path / "o")])
        assert code == 2, argv
        assert len(err.strip().splitlines()) == 1, err
        assert match in err, err


def test_feature_csv_end_to_end(capsys, tmp_path, csv_file):
    out = tmp_path / "feat"
    code, stdout, err = _run(
        capsys,
        [
            "feature",
            "--data",
            f"csv:{csv_file}",
            "--attribute",
            "group",
            "--t",
            "0,0.5,1",
            "--out",
            str(out),
            "--json",
            "--quiet",
        ],
    )
    assert code == 0, err
    res = json.loads(stdout)
    assert res["groups"] == ["f", "g"]
    assert [lv["t"] for lv in res["levels"]] == [0.0, 0.5, 1.0]
    for lv in res["levels"]:
        assert {"t", "auc_logistic", "mi", "accuracy", "distortion"} <= set(lv)
        assert 0.0 <= lv["auc_logistic"] <= 1.0
    # Repair removes the group signal: leakage falls, distortion grows.
    assert res["levels"][-1]["auc_logistic"] < res["levels"][0]["auc_logistic"]
    assert res["levels"][0]["distortion"] == 0.0
    assert res["levels"][-1]["distortion"] > 0.0
    for f in (
        "report.md",
        "report.html",
        "metrics.json",
        "pareto.png",
        "group_histograms.png",
        "repaired.csv",
        "repair.npz",
    ):
        _nonempty(out / f)
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html
    header = (out / "repaired.csv").read_text().splitlines()[0]
    want = ["row", "split", "a", "b", "colour", "group", "y"]
    assert header.split(",") == want


def _datapoint_argv(npz, out, *extra):
    # digits and class:3:0.75 as in the demo: one compilation serves both.
    del npz
    return [
        "datapoint",
        "--data",
        "digits",
        "--forget",
        "class:3:0.75",
        "--baselines",
        "retrain,finetune",
        "--out",
        str(out),
        "--json",
        "--quiet",
        *TINY,
        *extra,
    ]


def _without_seconds(res):
    return {
        name: {k: v for k, v in m.items() if k != "seconds" and k != "std"}
        | {"std": {k: v for k, v in m["std"].items() if k != "seconds"}}
        for name, m in res.items()
    }


def _check_saved_split_and_models(out):
    # The rows used (rows of the source) and the saved models reproduce
    # the audited forget accuracy of seed 0.
    from jaxunlearn import experiments  # noqa: PLC0415

    with np.load(out / "split.npz", allow_pickle=False) as f:
        split = {k: f[k] for k in f.files}
    assert split["seeds"].tolist() == [0, 1]
    assert str(split["test_source"]) == "x"
    rows = split["forget_rows_seed0"]
    assert set(rows) <= set(split["train_rows"])
    assert not set(split["train_rows"]) & set(split["test_rows"])
    ckpt = json.loads((out / "checkpoint.json").read_text())
    unit = ckpt["units"]["seed-0"]
    assert len(rows) == unit["sizes"]["forget"]
    data = experiments.load_classification("digits", seed=0)
    pos = experiments.training_positions(data, rows)
    for name in ("unlearned", "retrain"):
        fn, params, meta = experiments.load_model(
            out / "models" / "seed-0" / f"{name}.npz"
        )
        assert meta["model"] == name and meta["hidden"] == [8]
        pred = np.argmax(np.asarray(fn(params, data.x[pos])), axis=-1)
        acc = float(np.mean(pred == data.y[pos]))
        assert acc == pytest.approx(
            unit["models"][name]["forget_acc"], abs=1e-6
        )


@pytest.mark.slow
def test_datapoint_json_schema_and_resume(
    capsys, tmp_path, npz_file, monkeypatch
):
    full = tmp_path / "full"
    bars = _recording_bars(monkeypatch)
    argv = [a for a in _datapoint_argv(npz_file, full) if a != "--quiet"]
    code, stdout, err = _run(capsys, [*argv, "--seeds", "2"])
    assert code == 0, err
    # --json alone (no --quiet): no progress bar, nothing on stderr but
    # warnings.
    assert bars == [] and "seed 0" not in err
    res = json.loads(stdout)
    assert set(res) == {"original", "unlearned", "retrain", "finetune"}
    for m in res.values():
        assert set(m) >= MODEL_KEYS
        for k in ("retain_acc", "forget_acc", "test_acc", "mia_auc"):
            assert 0.0 <= m[k] <= 1.0
        assert m["seconds"] >= 0.0 and m["mi"] >= 0.0
        assert m["n_seeds"] == 2
    for f in ("report.md", "report.html", "metrics.json", "checkpoint.json"):
        _nonempty(full / f)
    # --json never draws (nor imports matplotlib for) the figures.
    assert not list(full.glob("*.png"))
    assert "Figures left out" in (full / "report.md").read_text()
    _check_saved_split_and_models(full)

    # Interrupt after the first finished seed, then resume.
    part = tmp_path / "part"
    real_put = _checkpoint.Checkpoint.put

    def put_then_stop(self, unit, value):
        real_put(self, unit, value)
        raise KeyboardInterrupt

    monkeypatch.setattr(_checkpoint.Checkpoint, "put", put_then_stop)
    code, stdout, err = _run(
        capsys, _datapoint_argv(npz_file, part, "--seeds", "2")
    )
    assert code == 130 and stdout == ""
    assert "--resume" in err
    saved = json.loads((part / "checkpoint.json").read_text())
    assert list(saved["units"]) == ["seed-0"]
    monkeypatch.setattr(_checkpoint.Checkpoint, "put", real_put)
    code, stdout, err = _run(
        capsys, _datapoint_argv(npz_file, part, "--seeds", "2", "--resume")
    )
    assert code == 0, err
    resumed = json.loads(stdout)
    # Identical up to wall times (the resumed seed-1 is timed again).
    assert _without_seconds(resumed) == _without_seconds(res)
    # Other settings refuse to resume.
    code, _, err = _run(
        capsys,
        _datapoint_argv(npz_file, part, "--seeds", "3", "--resume"),
    )
    assert code == 2 and "other settings" in err


@pytest.mark.slow
def test_demo_tiny(capsys, tmp_path):
    out = tmp_path / "demo"
    code, stdout, err = _run(
        capsys,
        [
            "demo",
            "--out",
            str(out),
            "--json",
            "--quiet",
            "--t",
            "0,1",
            "--max-rows",
            "400",
            "--gamma",
            "auto",  # as the datapoint test: one compilation serves both
            *TINY,
        ],
    )
    assert code == 0, err
    res = json.loads(stdout)
    assert set(res) == {"datapoint", "feature"}
    assert set(res["datapoint"]) == {
        "original",
        "unlearned",
        "retrain",
        "finetune",
        "neggrad",
    }
    assert len(res["feature"]["levels"]) == 2
    for f in (
        "report.md",
        "report.html",
        "metrics.json",
        "training_curves.png",
        "mia_roc.png",
        "pareto.png",
        "group_histograms.png",
        "image_grid.png",
    ):
        _nonempty(out / f)
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"datapoint", "feature", "wall_seconds"} <= set(metrics)


@pytest.mark.slow
def test_reproduce_gmm_tiny(capsys, tmp_path):
    out = tmp_path / "gmm"
    code, stdout, err = _run(
        capsys,
        [
            "reproduce",
            "gmm",
            "--out",
            str(out),
            "--json",
            "--quiet",
            "--size",
            "40",
            "--seeds",
            "2",
            "--epochs",
            "2",
        ],
    )
    assert code == 0, err
    res = json.loads(stdout)
    assert "original" in res["rows"]
    assert res["rows"]["original"]["accuracy_paper"] == pytest.approx(0.933)
    _nonempty(out / "report.html")


def test_help_exits_zero(capsys):
    assert cli.main(["--help"]) == 0
    assert "demo" in capsys.readouterr().out


@pytest.mark.parametrize(
    "command", ["demo", "feature", "datapoint", "reproduce"]
)
def test_every_command_help_reads_well(capsys, command):
    assert cli.main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: jaxunlearn {command}")
    assert "common flags:" in out and "--out DIR" in out
    assert "(default: None)" not in out and "(default: False)" not in out


def test_library_argument_names_become_flags(capsys, tmp_path):
    from jaxunlearn.cli import _specs

    assert _specs.flag_message("spec: no such file") == "--data: no such file"
    assert _specs.flag_message("ts: bad") == "--t: bad"
    assert _specs.flag_message("x_retain: bad") == "x_retain: bad"
    code = cli.main(
        ["feature", "--data", f"csv:{tmp_path}/none.csv", "--attribute", "a"]
    )
    assert code == 2
    assert capsys.readouterr().err.startswith("jaxunlearn: error: --data: ")


def test_npz_conventions(npz_file, tmp_path):
    from jaxunlearn import experiments

    data = experiments.load_classification(f"npz:{npz_file}")
    assert data.num_classes == 3
    assert data.x.shape[0] + data.x_test.shape[0] == 150
    bad = tmp_path / "noy.npz"
    np.savez(bad, x=np.zeros((5, 2), np.float32))
    with pytest.raises(ValueError, match="no integer label array 'y'"):
        experiments.load_classification(f"npz:{bad}")
    with pytest.raises(ValueError, match="no array 'grp'"):
        experiments.load_feature_data(f"npz:{npz_file}", "grp")
    feat = experiments.load_feature_data(f"npz:{npz_file}", "y")
    assert feat.group_names == ("0", "1", "2")


def test_demo_defaults_to_the_controller():
    args = cli.build_parser().parse_args(["demo"])
    assert args.gamma == "auto" and args.epochs == 20
    fixed = cli.build_parser().parse_args(["demo", "--gamma", "1.5"])
    assert fixed.gamma == "1.5"


def test_plots_available_without_matplotlib(monkeypatch):
    import argparse  # noqa: PLC0415
    import sys  # noqa: PLC0415

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    assert not _output.plots_available(argparse.Namespace(json=False))
    assert not _output.plots_available(argparse.Namespace(json=True))


def _recording_bars(monkeypatch):
    """Wraps the CLI's tqdm factory: ``[(desc, updates, postfixes)]``."""
    bars = []
    real = _output.progress

    def progress(args):
        factory = real(args)
        if factory is None:
            return None

        def make(total, desc):
            bar = factory(total=total, desc=desc)
            rec = [desc, 0, []]
            bars.append(rec)
            update, set_postfix = bar.update, bar.set_postfix

            def counted(n=1):
                rec[1] += n
                return update(n)

            def post(*a, **kw):
                rec[2].append(kw)
                return set_postfix(*a, **kw)

            bar.update, bar.set_postfix = counted, post
            return bar

        return make

    monkeypatch.setattr(_output, "progress", progress)
    return bars


def test_no_progress_bars_under_json_or_quiet():
    import argparse  # noqa: PLC0415

    ns = argparse.Namespace
    assert _output.progress(ns(quiet=False, json=True)) is None
    assert _output.progress(ns(quiet=True, json=False)) is None
    assert callable(_output.progress(ns(quiet=False, json=False)))


@pytest.mark.slow
def test_datapoint_without_matplotlib_exits_0(capsys, tmp_path, monkeypatch):
    import sys  # noqa: PLC0415

    # As on a core install: importing matplotlib fails.
    for name in [m for m in sys.modules if m.startswith("matplotlib")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "nompl"
    # Neither --json nor --quiet: the progress bars are on.
    argv = [
        a for a in _datapoint_argv(None, out) if a not in ("--json", "--quiet")
    ]
    bars = _recording_bars(monkeypatch)
    code, _, err = _run(capsys, argv)
    assert code == 0, err
    # The unlearning and baseline bars were advanced once per epoch by the
    # library's callback (TINY: 2 MI epochs, retrain 2, finetune 1).
    ticks = {desc: n for desc, n, _ in bars}
    assert ticks["seed 0: MI"] == 2
    assert ticks["seed 0: retrain"] == 2
    assert ticks["seed 0: finetune"] == 1
    assert all(post for desc, n, post in bars if desc == "seed 0: MI")
    assert "seed 0: MI" in err  # tqdm writes to stderr
    _nonempty(out / "report.md")
    _nonempty(out / "report.html")
    assert not list(out.glob("*.png"))
    assert "Figures left out" in (out / "report.md").read_text()


def test_feature_warning_is_a_note_not_a_crash(capsys, tmp_path):
    # A category present in one group only makes the other group's
    # covariance singular: the gaussian method warns; the CLI finishes,
    # prints the warning as one note line and puts it in the report.
    rng = np.random.default_rng(1)
    n = 300
    g = rng.integers(0, 2, n)
    x = rng.normal(size=n) + g
    colour = np.where(g == 1, rng.choice(["red", "blue", "teal"], n), "red")
    path = tmp_path / "skew.csv"
    with open(path, "w") as f:
        f.write("x,colour,group\n")
        for row in zip(x, colour, g, strict=True):
            f.write(f"{row[0]:.4f},{row[1]},{'ab'[row[2]]}\n")
    out = tmp_path / "o"
    code, stdout, err = _run(
        capsys,
        ["feature", "--data", f"csv:{path}", "--attribute", "group",
         "--method", "gaussian",
         "--t", "0,1", "--auditors", "logistic", "--out", str(out),
         "--json", "--quiet"],
    )  # fmt: skip
    assert code == 0, err
    assert "note: method 'gaussian'" in err and "ridge" in err
    assert "**Note:** method 'gaussian'" in (out / "report.md").read_text()
    json.loads(stdout)
