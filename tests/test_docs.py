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


def test_site_nav_lists_every_page_and_notebook():
    """Every docs page and notebook is in the mkdocs nav (no orphan page)."""
    nav = (DOCS.parent / "mkdocs.yml").read_text()
    pages = {
        p.relative_to(DOCS).as_posix()
        for p in DOCS.rglob("*.md")
        if "feature_repair_logs" not in p.parts
    }
    notebooks = {
        f"notebooks/{p.name}"
        for p in (DOCS.parent / "notebooks").glob("[0-9]*.py")
    }
    listed = set(re.findall(r":\s+(\S+\.(?:md|py))\s*$", nav, re.M))
    assert pages | notebooks == listed
