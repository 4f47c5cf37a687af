"""MkDocs hook: renders ``notebooks/*.py`` (jupytext) as pages of the site.

The notebooks live outside ``docs/``; this hook adds each as a page under
``notebooks/`` so mkdocs-jupyter converts it, and points the links in the
Markdown pages (``../notebooks/NAME.py``) at those pages.
"""

import pathlib

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

_ROOT = pathlib.Path(__file__).resolve().parent.parent


@event_priority(100)  # before mkdocs-jupyter claims the notebook files
def on_files(files, config):
    """Adds every notebook source as a page of the site."""
    for path in sorted((_ROOT / "notebooks").glob("[0-9]*.py")):
        files.append(
            File(
                f"notebooks/{path.name}",
                src_dir=str(_ROOT),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
            )
        )
    return files


def on_page_markdown(markdown, page, config, files):
    """Points links to ``../notebooks/NAME.py`` at the rendered pages."""
    del config, files
    if page.file.src_uri.startswith("notebooks/"):
        return markdown
    depth = page.file.src_uri.count("/")
    return markdown.replace(
        "../" * (depth + 1) + "notebooks/", "../" * depth + "notebooks/"
    )
