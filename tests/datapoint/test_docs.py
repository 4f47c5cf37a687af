import pathlib
import re

import pytest

DOC = pathlib.Path(__file__).parents[2] / "docs" / "datapoint.md"


@pytest.mark.slow
def test_docs_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 2
    assert 15 <= len(blocks[0].strip().splitlines()) <= 20
    ns = {}
    exec(compile(blocks[0], "example", "exec"), ns)  # noqa: S102
    exec(compile(blocks[1], "meta", "exec"), ns)  # noqa: S102
    assert ns["out"].history.forget_acc.shape == (3,)
    assert float(ns["meta_loss"](ns["log_gamma"])) >= 0.0
