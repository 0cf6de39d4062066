"""The package's layout as the notebooks promise it: every numbered notebook is named after the module it exports, and
the modules import each other in notebook order (module-level and function-level imports alike), so the sidebar reads
as the dependency order and the import graph has no cycle."""
import ast
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "financial_transactions"
NBS = ROOT / "nbs"
NUMBERED = sorted(p for p in NBS.glob("[0-9]*.ipynb"))


def default_exp(nb: Path) -> str | None:
    "The `#| default_exp` of a notebook, or None."
    for c in json.loads(nb.read_text())["cells"]:
        src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        m = re.search(r"^#\|\s*default_exp\s+(\S+)", src, re.M)
        if m and c["cell_type"] == "code": return m.group(1)
    return None


def module_of(path: Path) -> str:
    return ".".join(path.relative_to(PKG).with_suffix("").parts).removesuffix(".__init__")


def package_imports(path: Path) -> list[tuple[str, bool, int]]:
    "(imported module, inside a function?, line) for each import of a package module in the file at `path`."
    mod = module_of(path)
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = mod.split(".")[: len(mod.split(".")) - node.level]
                target = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").startswith("financial_transactions"):
                target = node.module.removeprefix("financial_transactions").lstrip(".")
            else: continue
            # `from . import runtime`, `from financial_transactions import runtime`: the names are modules
            subs = [f"{target}.{a.name}".lstrip(".") for a in node.names if (PKG / f"{target}.{a.name}".lstrip(".").replace(".", "/")).with_suffix(".py").exists()]
            names = subs or [target]
        elif isinstance(node, ast.Import):
            names = [a.name.removeprefix("financial_transactions").lstrip(".") for a in node.names if a.name.startswith("financial_transactions")]
        for n in names:
            if n and n != mod: out.append((n, id(node) not in top, node.lineno))
    return out


def modules() -> dict[str, Path]:
    return {module_of(p): p for p in PKG.rglob("*.py") if p.name not in ("_modidx.py", "__init__.py")}


def notebook_of(path: Path) -> str:
    "The notebook a generated module says it comes from."
    m = re.search(r"File to edit: (?:\.\./)+nbs/(\S+\.ipynb)", path.read_text().splitlines()[0])
    assert m, f"{path} does not say which notebook it is generated from"
    return m.group(1)


def test_every_numbered_notebook_is_named_after_its_module():
    assert NUMBERED, "no numbered notebooks"
    wrong = []
    for nb in NUMBERED:
        exp = default_exp(nb)
        name = nb.stem.split("_", 1)[1] if "_" in nb.stem else nb.stem
        if exp is not None and name != exp: wrong.append(f"{nb.name} exports {exp}")
    assert not wrong, "notebooks named unlike their module: " + "; ".join(wrong)


def test_every_module_comes_from_its_own_notebook():
    for mod, path in modules().items():
        nb = notebook_of(path)
        assert default_exp(NBS / nb) == mod, f"{mod} is generated from {nb}, which exports {default_exp(NBS / nb)}"


def test_imports_follow_the_notebook_order():
    "A module imports only modules of earlier notebooks: no cycle, and the numbering is the dependency order."
    mods = modules()
    order = {m: notebook_of(p) for m, p in mods.items()}
    late = []
    for m, p in mods.items():
        for target, in_function, line in package_imports(p):
            assert target in mods, f"{p.relative_to(ROOT)}:{line} imports {target}, which is not a module of the package"
            if order[target] >= order[m]:
                late.append(f"{m} ({order[m]}) imports {target} ({order[target]}) at line {line}" + (" inside a function" if in_function else ""))
    assert not late, "imports of a module whose notebook does not come earlier:\n" + "\n".join(late)


def test_no_function_level_imports_of_our_own_modules():
    "Imports at the top show what a module depends on; only the command line defers its heavy subcommands."
    hidden = [f"{m}:{line} imports {t} inside a function" for m, p in modules().items() if m != "cli"
              for t, in_function, line in package_imports(p) if in_function]
    assert not hidden, "\n".join(hidden)


def test_the_checker_sees_cycles_and_late_imports(tmp_path):
    "The import scan finds module-level and function-level imports, relative and absolute."
    global PKG
    pkg = tmp_path / "financial_transactions"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("from .sub.b import x\ndef f():\n    from financial_transactions import c\n")
    (pkg / "sub" / "b.py").write_text("from .. import a\nimport financial_transactions.c\n")
    (pkg / "c.py").write_text("")
    old, PKG = PKG, pkg
    try:
        test_eq = lambda a, b: (a == b) or (_ for _ in ()).throw(AssertionError(f"{a} != {b}"))
        test_eq(sorted(package_imports(pkg / "a.py")), [("c", True, 3), ("sub.b", False, 1)])
        test_eq(sorted(package_imports(pkg / "sub" / "b.py")), [("a", False, 1), ("c", False, 2)])
    finally: PKG = old
