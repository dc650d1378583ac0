"""The layers of docs/design.md, held: every import of every module (function-local ones too) may
only reach its own layer or one below it. The list is read from the design doc itself, so the doc
and the code cannot drift apart; there are no exceptions."""

import ast
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = os.path.join(REPO, "minicontainer")


def _layers() -> list[list[str]]:
    """The ```layers block of docs/design.md: one line per layer, top first, `name: module prefixes`."""
    with open(os.path.join(REPO, "docs", "design.md")) as f:
        block = re.search(r"```layers\n(.*?)```", f.read(), re.S).group(1)
    return [line.split(":", 1)[1].split() for line in block.splitlines() if line.strip()]


def _module(path: str) -> str:
    rel = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".")
    return rel[: -len(".__init__")] if rel.endswith(".__init__") else rel


def _layer_of(module: str, layers) -> int:
    best, index = "", None
    for i, prefixes in enumerate(layers):
        for prefix in prefixes:
            full = "minicontainer" + ("." + prefix if prefix != "." else "")
            if (module == full or module.startswith(full + ".")) and len(full) > len(best):
                best, index = full, i
    assert index is not None, f"{module} is in no layer of docs/design.md"
    return index


def _imports(path: str, module: str):
    tree = ast.parse(open(path).read(), path)
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            for alias in node.names:  # `from minicontainer.x import y` may name module y
                yield node.lineno, f"{base}.{alias.name}" if base == "minicontainer" else base


def test_every_import_looks_down():
    layers = _layers()
    wrong = []
    for dirpath, _, files in os.walk(PACKAGE):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(dirpath, name)
            module = _module(path)
            mine = _layer_of(module, layers)
            for lineno, target in _imports(path, module):
                if target != "minicontainer" and not target.startswith("minicontainer."):
                    continue
                if _layer_of(target, layers) < mine:
                    wrong.append(f"{os.path.relpath(path, REPO)}:{lineno} imports {target} (a layer above)")
    assert not wrong, "\n".join(wrong)


def test_the_layer_list_names_every_package():
    layers = _layers()
    for entry in sorted(os.listdir(PACKAGE)):
        if entry.endswith(".py") or os.path.isfile(os.path.join(PACKAGE, entry, "__init__.py")):
            _layer_of("minicontainer." + entry.removesuffix(".py"), layers)
