"""Executed notebooks and markdown as self-contained HTML that renders offline.

``notebook_html(ipynb, out)`` writes one HTML file per executed notebook: markdown cells
rendered, code cells with their outputs (text, tables, PNG figures as data URIs, errors). No
script, no CDN: equations are drawn here with matplotlib's mathtext as inline SVG (the TeX source
stays as the image's alt text, and is shown as code when mathtext cannot draw it); interactive
widgets, which need a live kernel, are replaced by a line saying so and their static fallback.

``markdown_html(text)`` is the same markdown rendering for other pages (the report).
"""
from __future__ import annotations

import base64
import hashlib
import html
import io
import os
import re
from functools import lru_cache
from pathlib import Path

from sr_lib.paths import atomic_write_text

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;margin:1.5em auto;padding:0 1em;
     line-height:1.45;color:#222}
pre{background:#f6f8fa;padding:.5em .7em;overflow-x:auto;font-size:12.5px;border-radius:4px}
pre.in{border-left:3px solid #9ab}
pre.err{background:#fdecea}
pre.stderr{background:#fff8e6}
table{border-collapse:collapse;font-size:12.5px;margin:.5em 0}
td,th{border:1px solid #ccc;padding:2px 7px;text-align:right}
th{background:#f0f0f0}
td:first-child,th:first-child{text-align:left}
img{max-width:100%}
img.math{vertical-align:middle;max-width:none}
div.display{text-align:center;margin:.6em 0}
code{background:#f3f3f3;padding:0 .2em}
.note{color:#666;font-style:italic}
"""

STYLE_INLINE = " ".join(STYLE.split())          # as written into the pages

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$([^$\n]+?)\$", re.S)
_WIDGET = "application/vnd.jupyter.widget-view+json"


# ------------------------------------------------------------------------------------------------
# equations
# ------------------------------------------------------------------------------------------------

def _mathtext_tex(tex: str) -> str:
    """TeX as written in the notebooks → what matplotlib's mathtext accepts (sizing commands
    dropped, ``\\ge`` spelled ``\\geq``, one-letter arguments braced)."""
    t = " ".join(tex.split())
    t = re.sub(r"\\(?:big|Big|bigg|Bigg)[lr]?(?![a-zA-Z])", "", t)
    t = re.sub(r"\\ge(?![a-zA-Z])", r"\\geq", t)
    t = re.sub(r"\\le(?![a-zA-Z])", r"\\leq", t)
    t = t.replace(r"\!", "")
    return re.sub(r"\\(mathcal|mathbb|mathrm|tilde|hat|bar|vec|dot) *([A-Za-z0-9])(?![A-Za-z{])", r"\\\1{\2}", t)


@lru_cache(maxsize=512)
def math_html(tex: str, display: bool = False) -> str:
    """One equation as an ``<img>`` holding an SVG data URI (mathtext), or as code if it cannot be drawn."""
    try:
        from matplotlib import mathtext
        from matplotlib.font_manager import FontProperties
        buf = io.BytesIO()
        mathtext.math_to_image(f"${_mathtext_tex(tex)}$", buf, format="svg", dpi=100,
                               prop=FontProperties(size=14 if display else 11))
        svg = buf.getvalue()
    except Exception:                                   # noqa: BLE001 (any parse error: show the source)
        return f"<code>{html.escape(tex)}</code>"
    svg = re.sub(rb"<metadata>.*?</metadata>|<!DOCTYPE[^>]*>", b"", svg, flags=re.S)
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
    img = f"<img class='math' alt='{html.escape(tex, quote=True)}' src='{uri}'>"
    return f"<div class='display'>{img}</div>" if display else img


# ------------------------------------------------------------------------------------------------
# markdown
# ------------------------------------------------------------------------------------------------

def markdown_html(text: str) -> str:
    """Markdown (with ``$…$`` / ``$$…$$`` equations and pipe tables) → HTML, no script."""
    maths: list[str] = []

    def keep(m):
        maths.append(math_html(m.group(1).strip(), True) if m.group(1) is not None else math_html(m.group(2).strip()))
        return f"\x02MATH{len(maths) - 1}\x03"

    body = _MATH.sub(keep, text)
    try:
        from markdown_it import MarkdownIt
        rendered = MarkdownIt("commonmark", {"html": False}).enable("table").render(body)
    except ImportError:                                 # markdown-it comes with jupytext; plain text otherwise
        rendered = "".join(f"<p>{html.escape(p)}</p>\n" for p in body.split("\n\n"))
    return re.sub("\x02MATH(\\d+)\x03", lambda m: maths[int(m.group(1))], rendered)


# ------------------------------------------------------------------------------------------------
# outputs
# ------------------------------------------------------------------------------------------------

def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _terminal_text(text: str) -> str:
    """Captured terminal text as it would show: ANSI codes dropped, ``\\r`` refreshes (progress
    bars) collapsed to the last state of each line."""
    text = _ANSI.sub("", text)
    return "\n".join(line.rsplit("\r", 1)[-1] if "\r" in line.rstrip("\r") else line.rstrip("\r")
                     for line in text.split("\n"))


def _pre(text: str, cls: str = "") -> str:
    return f"<pre class='{cls}'>{html.escape(text.rstrip())}</pre>" if text.strip() else ""


def _png_html(b64: str, known: dict) -> str:
    """A PNG output: a relative link to the identical file under ``known`` (sha1 of the bytes →
    path, e.g. the profile's saved figures) instead of a second copy, else a data URI."""
    b64 = b64.strip()
    try:
        digest = hashlib.sha1(base64.b64decode(b64)).hexdigest()
    except ValueError:
        digest = ""
    if digest in known:
        return f"<p><img src='{html.escape(known[digest], quote=True)}'></p>"
    return f"<p><img src='data:image/png;base64,{b64}'></p>"


def _rich(data: dict, known: dict | None = None) -> str:
    if _WIDGET in data:
        plain = _text(data.get("text/plain", ""))
        return ("<p class='note'>(interactive widget: it needs a live kernel; open the notebook in "
                "JupyterLab)</p>" + ("" if plain.startswith(("interactive(", "HBox(", "VBox(")) else _pre(plain)))
    if "image/png" in data:
        return _png_html(_text(data["image/png"]), known or {})
    if "image/jpeg" in data:
        return f"<p><img src='data:image/jpeg;base64,{_text(data['image/jpeg']).strip()}'></p>"
    if "image/svg+xml" in data:
        svg = _text(data["image/svg+xml"]).encode()
        return f"<p><img src='data:image/svg+xml;base64,{base64.b64encode(svg).decode()}'></p>"
    if "text/html" in data:
        return re.sub(r"<script.*?</script>", "", _text(data["text/html"]), flags=re.S | re.I)
    if "text/markdown" in data:
        return markdown_html(_text(data["text/markdown"]))
    if "text/latex" in data:
        return math_html(_text(data["text/latex"]).strip("$ \n"), True)
    return _pre(_text(data.get("text/plain", "")))


def output_html(out: dict, known: dict | None = None) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        return _pre(_terminal_text(_text(out.get("text"))), "stderr" if out.get("name") == "stderr" else "")
    if kind in ("display_data", "execute_result"):
        return _rich(out.get("data", {}), known)
    if kind == "error":
        tb = _terminal_text("\n".join(out.get("traceback", [])) or f"{out.get('ename')}: {out.get('evalue')}")
        return _pre(tb, "err")
    return ""


def notebook_html(ipynb, out=None, title: str | None = None, figures=None) -> Path:
    """The executed notebook ``ipynb`` as one HTML file (default: beside it) that renders offline.
    Images are data URIs, except a PNG identical to a file in ``figures`` (a folder, e.g. the
    profile's ``figures/``), which is a relative link to it instead of a second copy."""
    import nbformat
    import os
    ipynb = Path(ipynb)
    nb = nbformat.read(ipynb, as_version=4)
    out = Path(out) if out else ipynb.with_suffix(".html")
    known = {}
    if figures is not None and Path(figures).is_dir():
        for f in sorted(Path(figures).glob("*.png")):
            known[hashlib.sha1(f.read_bytes()).hexdigest()] = os.path.relpath(f, out.parent).replace(os.sep, "/")
    title = title or ipynb.stem
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{STYLE_INLINE}</style></head><body>"]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts.append(markdown_html(cell.source))
        elif cell.cell_type == "code":
            if cell.source.strip():
                tags = cell.metadata.get("tags", [])
                label = " (parameters injected by the runner)" if "injected-parameters" in tags else ""
                parts.append(f"<pre class='in' title='code{label}'>{html.escape(cell.source)}</pre>")
            parts += [output_html(o, known) for o in cell.get("outputs", [])]
        else:
            parts.append(_pre(cell.source))
    parts.append("</body></html>")
    atomic_write_text(out, _without_machine_paths("\n".join(p for p in parts if p) + "\n"))
    return out


def _without_machine_paths(text: str) -> str:
    """``text`` with this machine's data root (``SR_DATA``), checkout and home folder written as
    ``$SR_DATA``, ``.`` and ``~``: an exported notebook is committed, and its printed paths (the data
    root, result folders, warnings' file names) must not name the machine that ran it."""
    from sr_lib.paths import repo_root
    folders = [(repo_root().resolve(), "."), (Path.home().resolve(), "~")]
    if os.environ.get("SR_DATA"):
        folders.insert(0, (Path(os.environ["SR_DATA"]).expanduser().resolve(), "$SR_DATA"))
    for folder, mark in folders:             # the most specific first: SR_DATA may lie inside either
        text = text.replace(html.escape(str(folder)), mark).replace(str(folder), mark)
    return text


__all__ = ["notebook_html", "markdown_html", "math_html", "output_html", "STYLE", "STYLE_INLINE"]
