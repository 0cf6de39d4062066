"""Build the documentation site into _docs/.

With Quarto installed (the docs workflow installs it), this is `nbdev-docs`. Without it (no registry here carries
Quarto), the same pages are built as plain HTML: nbdev processes the notebooks (`proc_nbs`: hidden cells removed, API
docs from `show_doc`), and each processed notebook and each `ops/*.qmd` page is rendered here with the sidebar of
`nbs/_quarto.yml`, in its order. Committed outputs are shown as they are (tables as HTML, plotly figures drawn by the
plotly.js that the plotly package ships, copied next to the pages), so the site reads offline.

    python scripts/make_docs.py            # Quarto if installed, else the plain site
    python scripts/make_docs.py --plain    # the plain site even where Quarto is installed
"""
import argparse
import base64
import glob
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
NBS, PROC, OUT = ROOT / "nbs", ROOT / "_proc", ROOT / "_docs"

CSS = """
body { margin: 0; font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2933; display: flex; }
nav { width: 270px; flex: none; height: 100vh; overflow-y: auto; position: sticky; top: 0; background: #f5f7fa;
      border-right: 1px solid #e4e7eb; padding: 16px 14px; box-sizing: border-box; font-size: 14px; }
nav .brand { font-weight: 700; font-size: 16px; display: block; margin-bottom: 12px; color: #102a43; text-decoration: none; }
nav h4 { margin: 16px 0 4px; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: #627d98; }
nav a { display: block; padding: 2px 6px; color: #243b53; text-decoration: none; border-radius: 4px; }
nav a.current { background: #d9e2ec; font-weight: 600; }
main { flex: 1; min-width: 0; max-width: 1100px; padding: 24px 40px 80px; }
h1 { margin-top: 0; } .description { color: #52606d; font-size: 17px; margin-top: -8px; }
pre { background: #f5f7fa; border: 1px solid #e4e7eb; border-radius: 6px; padding: 10px 12px; overflow-x: auto; font-size: 13px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
.cell-output { margin: -6px 0 16px; } .cell-output pre { background: #fff; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; } th, td { border: 1px solid #e4e7eb; padding: 3px 8px; }
th { background: #f5f7fa; } .plot { width: 100%; min-height: 320px; }
"""


def sidebar() -> list[tuple[str | None, list[Path]]]:
    "(section title, pages) in the order of nbs/_quarto.yml's sidebar; globs are resolved against nbs/."
    q = yaml.safe_load((NBS / "_quarto.yml").read_text())
    out = []
    for item in q["website"]["sidebar"]["contents"]:
        if isinstance(item, str): out.append((None, [NBS / item]))
        else: out.append((item["section"], sorted(Path(p) for p in glob.glob(str(NBS / item["contents"])))))
    return out


def page_name(src: Path) -> str:
    "The HTML file of a source page, relative to the site root."
    return str(src.relative_to(NBS).with_suffix(".html"))


def frontmatter(text: str) -> tuple[dict, str]:
    "The YAML front matter of a markdown text, and the text without it."
    m = re.match(r"^---\n(.*?)\n---\s*\n?", text, re.S)
    return (yaml.safe_load(m.group(1)) or {}, text[m.end():]) if m else ({}, text)


def markdown(text: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    out = markdown2html_mistune(text)
    return re.sub(r'href="([^":#]+)\.(?:ipynb|qmd)(#[^"]*)?"', lambda m: f'href="{m.group(1)}.html{m.group(2) or ""}"', out)


def highlight(code: str) -> str:
    from pygments import highlight as hl
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer
    return hl(code, PythonLexer(), HtmlFormatter(nowrap=True))


def render_output(o: dict, n: list) -> str:
    if o.get("output_type") == "stream": return f"<pre>{html.escape(''.join(o.get('text', '')))}</pre>"
    if o.get("output_type") == "error": return f"<pre>{html.escape(o.get('ename', ''))}: {html.escape(o.get('evalue', ''))}</pre>"
    data = o.get("data", {})
    join = lambda v: "".join(v) if isinstance(v, list) else v
    if "application/vnd.plotly.v1+json" in data:
        fig = data["application/vnd.plotly.v1+json"]
        n[0] += 1
        div = f"plot-{n[0]}"
        return (f'<div id="{div}" class="plot"></div><script>Plotly.newPlot("{div}", {json.dumps(fig.get("data", []))}, '
                f'{json.dumps(fig.get("layout", {}))}, {{"responsive": true}});</script>')
    if "image/png" in data: return f'<img alt="figure" src="data:image/png;base64,{join(data["image/png"]).strip()}">'
    if "text/markdown" in data: return markdown(join(data["text/markdown"]))
    if "text/html" in data: return join(data["text/html"])
    if "text/plain" in data: return f"<pre>{html.escape(join(data['text/plain']))}</pre>"
    return ""


def render_notebook(path: Path) -> tuple[str, str, str]:
    "(title, description, body HTML) of a processed notebook."
    nb = json.loads(path.read_text())
    title, desc, parts, n = path.stem, "", [], [0]
    for c in nb["cells"]:
        src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        if c["cell_type"] == "markdown":
            fm, rest = frontmatter(src)
            if fm: title, desc = fm.get("title", title), fm.get("description", desc)
            if rest.strip() and not rest.lstrip().startswith("<!-- WARNING"): parts.append(markdown(rest))
            continue
        if c["cell_type"] != "code": continue
        directives = dict(re.findall(r"^#\|\s*([\w-]+):\s*(.*)$", src, re.M))
        code = "\n".join(l for l in src.splitlines() if not l.startswith("#|")).strip()
        if code and directives.get("echo", "true") != "false": parts.append(f"<pre><code>{highlight(code)}</code></pre>")
        outs = "".join(render_output(o, n) for o in c.get("outputs", []))
        if outs: parts.append(f'<div class="cell-output">{outs}</div>')
    return title, desc, "\n".join(parts)


def render_qmd(path: Path) -> tuple[str, str, str]:
    fm, rest = frontmatter(path.read_text())
    return fm.get("title", path.stem), fm.get("description", ""), markdown(rest)


def layout(title: str, desc: str, body: str, here: str, nav: list, titles: dict) -> str:
    up = "../" * here.count("/")
    items = []
    for section, pages in nav:
        if section: items.append(f"<h4>{html.escape(section)}</h4>")
        for p in pages:
            name = page_name(p)
            cls = ' class="current"' if name == here else ""
            items.append(f'<a href="{up}{name}"{cls}>{html.escape(titles.get(name, p.stem))}</a>')
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} – financial-ai-mlops</title><link rel="stylesheet" href="{up}site.css">
<script src="{up}vendor/plotly.min.js"></script></head>
<body><nav><a class="brand" href="{up}index.html">financial-ai-mlops</a>{''.join(items)}</nav>
<main><h1>{html.escape(title)}</h1>{f'<p class="description">{html.escape(desc)}</p>' if desc else ''}
{body}</main></body></html>
"""


def build_plain() -> Path:
    "The plain HTML site in _docs/ (no Quarto): returns the index page."
    from nbdev.serve import proc_nbs
    import plotly
    shutil.rmtree(PROC, ignore_errors=True)
    proc_nbs(str(NBS), n_workers=0)
    nav = sidebar()
    pages = [p for _, ps in nav for p in ps]
    rendered = {}
    for src in pages:
        if src.suffix == ".ipynb": rendered[page_name(src)] = render_notebook(PROC / src.relative_to(NBS))
        else: rendered[page_name(src)] = render_qmd(src)
    titles = {k: v[0] for k, v in rendered.items()}
    shutil.rmtree(OUT, ignore_errors=True)
    (OUT / "vendor").mkdir(parents=True)
    shutil.copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", OUT / "vendor" / "plotly.min.js")
    (OUT / "site.css").write_text(CSS)
    for name, (title, desc, body) in rendered.items():
        (OUT / name).parent.mkdir(parents=True, exist_ok=True)
        (OUT / name).write_text(layout(title, desc, body, name, nav, titles))
    print(f"{len(rendered)} pages in {OUT} (open {OUT / 'index.html'})")
    return OUT / "index.html"


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plain", action="store_true", help="build the plain HTML site even where Quarto is installed")
    a = ap.parse_args()
    if not a.plain and shutil.which("quarto"):
        sys.exit(subprocess.run([str(Path(sys.executable).parent / "nbdev-docs")], cwd=ROOT).returncode)
    build_plain()
