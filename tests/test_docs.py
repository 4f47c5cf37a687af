import pathlib
import re

import jax
import pytest

DOCS = pathlib.Path(__file__).parent.parent / "docs"


@pytest.mark.slow
def test_feature_doc_example_runs(capsys):
    text = (DOCS / "feature.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    with (
        jax.numpy_rank_promotion("allow"),
        jax.numpy_dtype_promotion("standard"),
    ):
        exec(compile(code, "docs/feature.md", "exec"), {})
    assert "(5, 500, 2)" in capsys.readouterr().out
