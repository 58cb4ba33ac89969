"""A self-contained HTML page: inline CSS, images as base64 data URIs, no scripts, fonts or network."""

from __future__ import annotations

import base64
import html
from string import Template

import pandas as pd

PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #222;
       background: #fafafa; }
header { background: #24323f; color: #fff; padding: 1.2em 2em; }
header h1 { margin: 0 0 .2em 0; font-size: 1.5em; }
header p { margin: 0; opacity: .8; }
nav { padding: .6em 2em; background: #eef1f4; border-bottom: 1px solid #d8dde2; }
nav a { margin-right: 1.2em; color: #24323f; text-decoration: none; font-weight: 600; }
main { padding: 1em 2em 3em 2em; max-width: 1400px; }
section { background: #fff; border: 1px solid #e1e4e8; border-radius: 6px; padding: 1em 1.4em;
          margin: 1.2em 0; }
h2 { margin-top: .2em; font-size: 1.25em; }
ul.verdicts { background: #f3f8f3; border-left: 4px solid #4c9a4c; padding: .6em 1em .6em 2em; }
ul.verdicts li { margin: .25em 0; }
ul.warnings { background: #fdf6ec; border-left: 4px solid #d08a1e; padding: .6em 1em .6em 2em; }
ul.warnings li { margin: .25em 0; }
.figures { display: flex; flex-wrap: wrap; gap: 1.2em; }
figure { margin: 0; flex: 1 1 560px; max-width: 900px; }
figure img { width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .88em; color: #444; margin-top: .3em; }
figcaption a { color: #3a6ea5; }
.missing { color: #777; font-size: .88em; }
table { border-collapse: collapse; font-size: .85em; margin: .4em 0; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f0f2f4; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; font-size: .82em; }
details summary { cursor: pointer; font-weight: 600; margin: .4em 0; }
</style>
</head>
<body>
<header><h1>$title</h1><p>$subtitle</p></header>
<nav>$nav</nav>
<main>
$sections
</main>
</body>
</html>
""")


def esc(text: object) -> str:
    """HTML-escape any value."""
    return html.escape(str(text), quote=True)


def png_data_uri(png: bytes) -> str:
    """A PNG as a data: URI, so the page needs no other file to show it."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def table_html(frame: pd.DataFrame, max_rows: int | None = None) -> str:
    """A plain escaped <table> (pandas' to_html would add classes and index we do not want)."""
    rows = frame if max_rows is None else frame.head(max_rows)
    head = "".join(f"<th>{esc(c)}</th>" for c in rows.columns)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in rows.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


def pairs_html(pairs: list[tuple[str, str]]) -> str:
    """Two-column key/value table."""
    body = "\n".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in pairs)
    return f"<table><tbody>\n{body}\n</tbody></table>"


#: where a figure's caption (what it drew) ends and the paper's description begins (plots.captions)
PAPER_NOTE = " In the paper: "


def figure_html(label: str, caption: str, png: bytes, name: str, pdf: bool = True) -> str:
    """An embedded figure with its caption and links to the PNG/PDF files beside the page."""
    links = f'<a href="figures/{esc(name)}.png">PNG</a>'
    if pdf:
        links += f', <a href="figures/{esc(name)}.pdf">PDF</a>'
    drawn, _, paper = caption.partition(PAPER_NOTE)
    note = f"<br><i>In the paper:</i> {esc(paper)}" if paper else ""
    return (
        f'<figure id="{esc(name)}"><img src="{png_data_uri(png)}" alt="{esc(label)}: {esc(drawn)}">'
        f"<figcaption><b>{esc(label)}</b>: {esc(drawn)} ({links}){note}</figcaption></figure>"
    )


def missing_html(label: str, message: str) -> str:
    """The sentence a figure gave instead of drawing."""
    return f'<li class="missing"><b>{esc(label)}</b> not drawn: {esc(message)}</li>'


def section_html(
    anchor: str, title: str, verdicts: list[str], body: str, warnings: list[str] | None = None
) -> str:
    """One section: title, warnings (unconverged runs, flagged fits), verdicts, then its body."""
    warning_block = ""
    if warnings:
        items = "".join(f"<li>{esc(w)}</li>" for w in warnings)
        warning_block = f'<ul class="warnings">{items}</ul>'
    items = "".join(f"<li>{esc(v)}</li>" for v in verdicts)
    verdict_block = f'<ul class="verdicts">{items}</ul>' if verdicts else ""
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{warning_block}{verdict_block}{body}</section>'


def page_html(title: str, subtitle: str, sections: list[tuple[str, str, str]]) -> str:
    """The whole page from (anchor, title, section html) triples."""
    nav = "".join(f'<a href="#{esc(a)}">{esc(t)}</a>' for a, t, _ in sections)
    return PAGE.substitute(
        title=esc(title), subtitle=esc(subtitle), nav=nav, sections="\n".join(s for *_, s in sections)
    )
