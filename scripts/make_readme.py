"""Build README.md from nbs/index.ipynb without Quarto (which no registry here carries).

Markdown cells are copied, the front matter becomes the title and a description, visible code cells become fenced
Python blocks and `#| hide` cells are left out. tests/test_readme.py checks README.md is up to date.
"""
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def render(nb_path: Path) -> str:
    nb = json.loads(nb_path.read_text())
    out = ["<!-- generated from nbs/index.ipynb by scripts/make_readme.py: edit the notebook, then `make readme` -->", ""]
    for cell in nb["cells"]:
        src = "".join(cell["source"]).strip("\n")
        if cell["cell_type"] == "markdown":
            fm = re.match(r"^---\n(.*?)\n---\s*$", src, re.S)
            if fm:
                meta = dict(re.findall(r'^(\w+):\s*"?(.*?)"?$', fm.group(1), re.M))
                out += [f"# {meta.get('title', '')}", "", f"> {meta.get('description', '')}", ""]
                continue
            out += [src, ""]
        elif cell["cell_type"] == "code":
            lines = src.splitlines()
            if any(l.strip() in ("#| hide", "#|hide") for l in lines): continue
            code = "\n".join(l for l in lines if not l.startswith("#|")).strip()
            if code: out += ["```python", code, "```", ""]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    text = render(ROOT / "nbs" / "index.ipynb")
    if "--check" in sys.argv:
        ok = (ROOT / "README.md").exists() and (ROOT / "README.md").read_text() == text
        print("README.md is up to date" if ok else "README.md is stale: run `make readme`")
        sys.exit(0 if ok else 1)
    (ROOT / "README.md").write_text(text)
    print("README.md written")
