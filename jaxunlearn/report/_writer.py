"""Report writer: ``report.md``, a self-contained ``report.html`` and JSON.

A report is a title, an ordered list of :class:`Section` and a metrics
dictionary. The Markdown and HTML are both rendered from that structure
(no Markdown parsing), images are embedded in the HTML as base64 PNG, and
every file is written atomically.
"""

import base64
import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from jaxunlearn import _io


class Section(NamedTuple):
    """One part of a report.

    Attributes:
      title: the heading.
      text: paragraphs of plain text (blank-line separated).
      table: rows of a table, each a mapping column -> value (may be empty).
      figures: PNG paths shown under the text, with the file name as caption
        unless ``captions`` gives one.
      captions: optional captions, one per figure.
    """

    title: str
    text: str = ""
    table: Sequence[Mapping[str, Any]] = ()
    figures: Sequence[str] = ()
    captions: Sequence[str] = ()


class ReportPaths(NamedTuple):
    """Files written by :func:`write_report`.

    Attributes:
      markdown: path of ``report.md``.
      html: path of ``report.html``.
      metrics: path of ``metrics.json``.
    """

    markdown: str
    html: str
    metrics: str


def format_value(value: Any) -> str:
    """Formats a table cell: floats with 4 significant digits, ``mean+-std``.

    Args:
      value: a number, a ``(mean, std)`` pair, a string or None.

    Returns:
      The text of the cell.
    """
    if value is None:
        return "-"
    if isinstance(value, tuple | list) and len(value) == 2:
        return f"{format_value(value[0])} ± {format_value(value[1])}"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        if math.isnan(v):
            return "nan"
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.3g}"
        return f"{v:.4g}"
    return str(value)


def markdown_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Renders rows as a GitHub Markdown table (columns in first-seen order).

    Args:
      rows: a list of mappings column -> value.

    Returns:
      The table as Markdown text (empty string for no rows).
    """
    if not rows:
        return ""
    cols: list[str] = []
    for row in rows:
        cols.extend(c for c in row if c not in cols)
    lines = [
        "| " + " | ".join(cols) + " |",
        "|" + "|".join("---" for _ in cols) + "|",
    ]
    for row in rows:
        lines.append(
            "| " + " | ".join(format_value(row.get(c)) for c in cols) + " |"
        )
    return "\n".join(lines)


def _html_table(rows: Sequence[Mapping[str, Any]]) -> str:
    cols: list[str] = []
    for row in rows:
        cols.extend(c for c in row if c not in cols)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(format_value(row.get(c)))}</td>" for c in cols
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;
max-width:980px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #ddd;padding-bottom:.3em}
h2{margin-top:1.8em;border-bottom:1px solid #eee}
table{border-collapse:collapse;margin:1em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.85em;color:#555}
"""


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return _to_jsonable(np.asarray(value).tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_report(
    out_dir: str | os.PathLike,
    *,
    title: str,
    sections: Sequence[Section],
    metrics: Mapping[str, Any],
    intro: str = "",
) -> ReportPaths:
    """Writes ``report.md``, ``report.html`` and ``metrics.json``.

    Figures are referenced relatively from the Markdown (they should live
    in ``out_dir``) and embedded as base64 in the HTML, which is therefore
    self-contained.

    Args:
      out_dir: the report folder (created if missing).
      title: the report's title.
      sections: the ordered sections.
      metrics: JSON-serializable numbers (arrays become lists).
      intro: a paragraph under the title.

    Returns:
      The paths written.

    Raises:
      ValueError: when a figure file does not exist.
    """
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    md = [f"# {title}", ""]
    body = [f"<h1>{html.escape(title)}</h1>"]
    if intro:
        md += [intro, ""]
        body.append(f"<p>{html.escape(intro)}</p>")
    for sec in sections:
        md += [f"## {sec.title}", ""]
        body.append(f"<h2>{html.escape(sec.title)}</h2>")
        for para in [p for p in sec.text.split("\n\n") if p.strip()]:
            md += [para.strip(), ""]
            body.append(f"<p>{html.escape(para.strip())}</p>")
        if sec.table:
            md += [markdown_table(sec.table), ""]
            body.append(_html_table(sec.table))
        for i, fig in enumerate(sec.figures):
            if not os.path.isfile(fig):
                raise ValueError(f"sections: figure {fig!r} does not exist")
            cap = sec.captions[i] if i < len(sec.captions) else ""
            rel = os.path.relpath(fig, out_dir)
            md += [f"![{cap or os.path.basename(fig)}]({rel})", ""]
            if cap:
                md += [f"*{cap}*", ""]
            with open(fig, "rb") as f:
                data = base64.b64encode(f.read()).decode("ascii")
            body.append(
                f'<figure><img alt="{html.escape(cap)}" '
                f'src="data:image/png;base64,{data}"/>'
                f"<figcaption>{html.escape(cap)}</figcaption></figure>"
            )
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>"
    )
    paths = ReportPaths(
        markdown=os.path.join(out_dir, "report.md"),
        html=os.path.join(out_dir, "report.html"),
        metrics=os.path.join(out_dir, "metrics.json"),
    )
    _io.atomic_write_text(paths.markdown, "\n".join(md).rstrip() + "\n")
    _io.atomic_write_text(paths.html, page)
    _io.atomic_write_text(
        paths.metrics,
        json.dumps(_to_jsonable(metrics), indent=2, sort_keys=True) + "\n",
    )
    return paths
