"""MkDocs hook: renders ``notebooks/*.py`` (jupytext) as pages of the site.

The notebooks live outside ``docs/``; this hook adds each as a page under
``notebooks/`` so mkdocs-jupyter converts it, and points the links in the
Markdown pages (``../notebooks/NAME.py``) at those pages. A line
``<!-- cli-help: COMMAND -->`` in a page becomes the ``--help`` text of
that command of ``jaxunlearn`` (``jaxunlearn`` itself for ``COMMAND`` =
``jaxunlearn``), so the reference cannot drift from the parser.
"""

import os
import pathlib
import re

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


_HELP = re.compile(r"^<!-- cli-help: ([a-z]+) -->$", re.MULTILINE)


def _cli_help(command: str) -> str:
    """The ``--help`` text of a command, 80 columns wide, as a code block."""
    from jaxunlearn.cli import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"
    try:
        parser = build_parser()
        if command != "jaxunlearn":
            sub = next(
                a for a in parser._actions if a.dest == "command"
            ).choices
            if command not in sub:
                raise ValueError(f"cli-help: no command {command!r}")
            parser = sub[command]
        text = parser.format_help()
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old
    return "```text\n" + text.rstrip() + "\n```"


def on_page_markdown(markdown, page, config, files):
    """Fills the ``cli-help`` markers and points notebook links at pages.

    Links to ``../notebooks/NAME.py`` go to the rendered notebook pages.
    """
    del config, files
    if page.file.src_uri.startswith("notebooks/"):
        return markdown
    markdown = _HELP.sub(lambda m: _cli_help(m.group(1)), markdown)
    depth = page.file.src_uri.count("/")
    return markdown.replace(
        "../" * (depth + 1) + "notebooks/", "../" * depth + "notebooks/"
    )
