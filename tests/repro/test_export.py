"""Executed notebooks as offline HTML (sr_lib.repro.export): outputs kept, equations drawn here,
no script or CDN, widgets replaced by a note, progress bars collapsed to their last state."""
from __future__ import annotations

import base64
import io
import re

import nbformat
from PIL import Image

from sr_lib.repro.export import markdown_html, math_html, notebook_html


def _png() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (3, 2), (255, 0, 0)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def test_notebook_with_every_kind_of_output(tmp_path):
    nb = nbformat.v4.new_notebook()
    png = _png()
    code = nbformat.v4.new_code_cell("x = 1")
    code.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="bar:  10%|#\rbar:  50%|#####\rbar: 100%|##########\n"),
        nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
        nbformat.v4.new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "m"},
                                                     "text/plain": "interactive(children=(FloatSlider(...)))"}),
        nbformat.v4.new_output("execute_result", data={"text/html": "<table><tr><td>7</td></tr></table>"
                                                                      "<script>alert(1)</script>",
                                                       "text/plain": "df"}, execution_count=1),
        nbformat.v4.new_output("error", ename="ValueError", evalue="bad",
                               traceback=["\x1b[0;31mValueError\x1b[0m: bad"]),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# Title\n\nInline $x_q$ and display\n\n$$\\frac{S_t}{S}\\big(z\\big)$$"),
                code]
    src = tmp_path / "n.ipynb"
    nbformat.write(nb, src)
    page = notebook_html(src).read_text()
    assert "<h1>Title</h1>" in page
    assert f"data:image/png;base64,{png}" in page
    assert "bar: 100%|##########" in page and "50%" not in page       # the bar's last state only
    assert "ValueError: bad" in page and "\x1b" not in page
    assert "<td>7</td>" in page and "<script" not in page.lower()
    assert "needs a live kernel" in page and "FloatSlider" not in page
    assert page.count("data:image/svg+xml;base64,") == 2              # the two equations, drawn
    assert not re.search(r"""(src|href)=['"]https?:""", page)


def test_math_that_mathtext_cannot_draw_stays_readable():
    assert math_html(r"\unknowncommand{x}") == r"<code>\unknowncommand{x}</code>"
    svg = math_html(r"l \ge 2")                                       # \ge is spelled \geq for mathtext
    assert svg.startswith("<img class='math' alt='l \\ge 2'")


def test_markdown_pipe_tables_and_escaped_pipes():
    page = markdown_html("| a | b |\n|---|---|\n| x \\| y | 2 |\n")
    assert "<td>x | y</td>" in page and "<th>a</th>" in page


def test_printed_paths_of_this_machine_do_not_reach_the_export(tmp_path, monkeypatch):
    from pathlib import Path

    from sr_lib.paths import repo_root
    data = tmp_path / "elsewhere" / "data"
    monkeypatch.setenv("SR_DATA", str(data))
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("print(out_dir)")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                           text=f"results → {repo_root().resolve()}/results/cpu\n"
                                                f"{Path.home().resolve()}/.cache/sr_lib/runs\n"
                                                f"data: {data.resolve()} (Set5)\n")]
    nb.cells = [code]
    src = tmp_path / "n.ipynb"
    nbformat.write(nb, src)
    text = notebook_html(src).read_text()
    assert str(repo_root().resolve()) not in text and str(Path.home().resolve()) not in text
    assert "./results/cpu" in text and "~/.cache/sr_lib/runs" in text
    assert str(data.resolve()) not in text and "data: $SR_DATA (Set5)" in text
