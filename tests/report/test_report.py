import json
import pathlib

import numpy as np
import pytest

from jaxunlearn import report


def test_plots_and_report_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    hist = {
        "retain_acc": rng.uniform(0.9, 1.0, (3, 5)),
        "forget_acc": np.linspace(1.0, 0.8, 5)[None, :].repeat(3, 0),
        "test_acc": rng.uniform(0.85, 0.9, (3, 5)),
        "mi": np.linspace(0.05, 0.0, 5)[None, :].repeat(3, 0),
    }
    f1 = report.plot_training_curves(
        hist, tmp_path / "curves.png", retrain={"forget_acc": 0.8}
    )
    f2 = report.plot_pareto(
        [0, 0.5, 1], [0.0, 0.2, 0.8], [0.9, 0.7, 0.5], tmp_path / "pareto.png"
    )
    x = rng.normal(size=(100, 3))
    z = rng.integers(0, 2, 100)
    f3 = report.plot_group_histograms(x + z[:, None], x, z, tmp_path / "h.png")
    f4 = report.plot_image_grid(
        {"x": rng.uniform(size=(4, 8, 8)), "T(x)": rng.uniform(size=(4, 8, 8))},
        tmp_path / "grid.png",
    )
    f5 = report.plot_roc(
        {"before": ([0, 0.2, 1], [0, 0.8, 1], 0.8)}, tmp_path / "roc.png"
    )
    for f in (f1, f2, f3, f4, f5):
        data = pathlib.Path(f).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    paths = report.write_report(
        tmp_path,
        title="Demo",
        intro="hello",
        sections=[
            report.Section(
                "Results",
                text="para one\n\npara two",
                table=[
                    {"model": "a", "acc": 0.91234},
                    {"model": "b", "acc": (0.5, 0.01)},
                ],
                figures=[f1],
                captions=["curves"],
            )
        ],
        metrics={
            "acc": np.float32(0.5),
            "arr": np.arange(3),
            "nan": float("nan"),
        },
    )
    md = pathlib.Path(paths.markdown).read_text()
    assert "| model | acc |" in md and "0.9123" in md and "0.5 ± 0.01" in md
    html = pathlib.Path(paths.html).read_text()
    assert "data:image/png;base64," in html and "<table>" in html
    m = json.loads(pathlib.Path(paths.metrics).read_text())
    assert m == {"acc": 0.5, "arr": [0, 1, 2], "nan": None}


def test_missing_figure_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        report.write_report(
            tmp_path,
            title="t",
            sections=[report.Section("s", figures=[str(tmp_path / "no.png")])],
            metrics={},
        )


def test_format_value():
    assert report.format_value(1234567.0) == "1.23e+06"
    assert report.format_value(True) == "yes"
    assert report.format_value(None) == "-"
    assert report.markdown_table([]) == ""
