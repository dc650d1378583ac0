"""Go's text/template, the part people use with `docker inspect -f` and `--format`: fields,
pipelines (`|`), parentheses, variables, if/else if/else, range (over lists and maps, with `$k, $v
:=`), with, comments, `{{-`/`-}}` trimming, and Docker's functions next to Go's own (json, join,
split, lower, upper, title, truncate, pad; len, index, eq, ne, lt, le, gt, ge, and, or, not, print,
printf, println). Values are what the JSON views hold (dicts, lists, strings, numbers, bools, None).
A missing map key is an error, as in Docker (missingkey=error).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field

from minicontainer.errors import MCError

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<raw>`[^`]*`)|(?P<num>-?\d+(?:\.\d+)?)|'
                    r'(?P<decl>:=)|(?P<sym>[|(),=])|(?P<field>(?:\$\w*)?(?:\.\w+)+|\.|\$\w*)|(?P<ident>[A-Za-z_]\w*))')


class TemplateError(MCError):
    exit_code = 1


def go_str(value) -> str:
    """A value as Go's fmt prints it (%v)."""
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "[" + " ".join(go_str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_str(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


def _truth(value) -> bool:
    return value not in (None, False, 0, "") and not (isinstance(value, (list, dict)) and not value)


# ---------------------------------------------------------------- parsing

@dataclass
class _Node:
    kind: str                      # text | print | if | range | with | set
    text: str = ""
    pipe: list = field(default_factory=list)
    names: list = field(default_factory=list)  # the variables a range, with or set declares
    body: list = field(default_factory=list)
    orelse: list = field(default_factory=list)


def _lex(expr: str) -> list[tuple[str, str]]:
    out, pos, expr = [], 0, expr.strip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise TemplateError(f"template: :1: unexpected {expr[pos:]!r} in command")
        out.append((m.lastgroup, m.group(m.lastgroup)))
        pos = m.end()
    return out


def _declaration(tokens: list) -> tuple[list[str], list]:
    """`$k, $v := pipeline` -> (["$k", "$v"], pipeline tokens); no declaration -> ([], tokens)."""
    for i, (kind, _) in enumerate(tokens):
        if kind == "decl":
            names = [v for k, v in tokens[:i] if k == "field"]
            return names, tokens[i + 1:]
    return [], tokens


@functools.lru_cache(maxsize=32)  # `ps` renders one template per row: parse it once (the nodes are never changed)
def _parse(template: str) -> list[_Node]:
    pieces: list[tuple[str, str]] = []
    pos = 0
    for m in _ACTION.finditer(template):
        text = template[pos:m.start()]
        if m.group(1):
            text = text.rstrip()
        pieces.append(("text", text))
        pieces.append(("action", m.group(2)))
        pos = m.end()
        if m.group(3):
            rest = template[pos:]
            pos += len(rest) - len(rest.lstrip())
    pieces.append(("text", template[pos:]))
    return _block(pieces, 0, top=True)[0]


def _block(pieces, i: int, top: bool = False):
    """Nodes up to an {{else}} or {{end}}; returns (nodes, index of that piece)."""
    nodes: list[_Node] = []
    while i < len(pieces):
        kind, text = pieces[i]
        if kind == "text":
            if text:
                nodes.append(_Node("text", text))
            i += 1
            continue
        words = text.strip()
        if words.startswith("/*"):
            i += 1
            continue
        head = words.split(None, 1)[0] if words else ""
        if head in ("end", "else"):
            if top:
                raise TemplateError(f"template: :1: unexpected {{{{{head}}}}}")
            return nodes, i
        if head in ("if", "range", "with"):
            names, pipe = _declaration(_lex(words[len(head):]))
            node = _Node(head, pipe=pipe, names=names)
            node.body, i = _block(pieces, i + 1)
            i = _else(pieces, i, node)
            nodes.append(node)
            continue
        names, pipe = _declaration(_lex(words))
        nodes.append(_Node("set" if names else "print", pipe=pipe, names=names))
        i += 1
    if not top:
        raise TemplateError("template: :1: unexpected EOF")
    return nodes, i


def _else(pieces, i: int, node: _Node) -> int:
    """After a block's body: its {{else}} part (an `else if` is an if inside it), then {{end}}."""
    words = pieces[i][1].strip()
    if words.startswith("else"):
        rest = words[4:].strip()
        if rest.startswith("if "):
            inner = _Node("if", pipe=_lex(rest[3:]))
            inner.body, i = _block(pieces, i + 1)
            i = _else(pieces, i, inner)
            node.orelse = [inner]
            return i
        node.orelse, i = _block(pieces, i + 1)
        words = pieces[i][1].strip()
    if words != "end":
        raise TemplateError(f"template: :1: unexpected {{{{{words}}}}}")
    return i + 1


# ---------------------------------------------------------------- evaluation

class _Run:
    def __init__(self, root):
        self.vars: list[dict] = [{"$": root}]

    def var(self, name: str):
        for scope in reversed(self.vars):
            if name in scope:
                return scope[name]
        raise TemplateError(f'template: :1: undefined variable "{name}"')

    def nodes(self, nodes: list[_Node], dot, out: list[str]) -> None:
        for node in nodes:
            if node.kind == "text":
                out.append(node.text)
            elif node.kind == "print":
                pipe = node.pipe
                if len(pipe) == 1 and pipe[0][0] == "field" and pipe[0][1][0] == ".":  # {{.A.B}}: most are
                    out.append(go_str(_fields(dot, pipe[0][1])))
                else:
                    out.append(go_str(self.pipe(pipe, dot)))
            elif node.kind == "set":
                self.vars[-1][node.names[0]] = self.pipe(node.pipe, dot)
            elif node.kind == "if":
                self.scoped(node.body if _truth(self.pipe(node.pipe, dot)) else node.orelse, dot, out)
            elif node.kind == "with":
                value = self.pipe(node.pipe, dot)
                if _truth(value):
                    self.scoped(node.body, value, out, dict.fromkeys(node.names, value))
                else:
                    self.scoped(node.orelse, dot, out)
            elif node.kind == "range":
                self.range(node, dot, out)

    def scoped(self, nodes, dot, out, variables=None) -> None:
        self.vars.append(dict(variables or {}))
        try:
            self.nodes(nodes, dot, out)
        finally:
            self.vars.pop()

    def range(self, node: _Node, dot, out: list[str]) -> None:
        value = self.pipe(node.pipe, dot)
        items = sorted(value.items()) if isinstance(value, dict) else list(enumerate(value or []))
        if not items:
            self.scoped(node.orelse, dot, out)
        for key, item in items:
            names = node.names
            variables = {names[0]: key, names[1]: item} if len(names) == 2 else dict.fromkeys(names, item)
            self.scoped(node.body, item, out, variables)

    def pipe(self, tokens: list, dot):
        value, first = None, True
        for command in _split(tokens, "|"):
            value = self.command(command, dot, None if first else [value])
            first = False
        return value

    def command(self, tokens: list, dot, piped):
        if not tokens:
            raise TemplateError("template: :1: missing value for command")
        kind, text = tokens[0]
        if kind == "ident" and text not in ("true", "false", "nil"):
            fn = FUNCS.get(text)
            if fn is None:
                raise TemplateError(f'template: :1: function "{text}" not defined')
            args = [self.operand(group, dot) for group in _operands(tokens[1:])] + (piped or [])
            return fn(*args)
        operands = _operands(tokens)
        if len(operands) != 1 or piped:
            raise TemplateError(f"template: :1: can't give argument to non-function {text}")
        return self.operand(operands[0], dot)

    def operand(self, group: list, dot):
        kind, text = group[0]
        if kind == "paren":
            value = self.pipe(text, dot)
            return _fields(value, group[1][1]) if len(group) > 1 else value
        if kind == "str":
            return json.loads(text)
        if kind == "raw":
            return text[1:-1]
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "ident":
            return {"true": True, "false": False, "nil": None}[text]
        if text.startswith("$"):
            name, dotpath = (text.split(".", 1) + [""])[:2]
            return _fields(self.var(name), "." + dotpath if dotpath else "")
        return _fields(dot, text)


def _split(tokens: list, sep: str) -> list[list]:
    out, depth, current = [], 0, []
    for tok in tokens:
        if tok == ("sym", "("):
            depth += 1
        elif tok == ("sym", ")"):
            depth -= 1
        if tok == ("sym", sep) and depth == 0:
            out.append(current)
            current = []
        else:
            current.append(tok)
    return out + [current]


def _operands(tokens: list) -> list[list]:
    """Group a command's tokens into operands: a parenthesised pipeline (with a field chain right
    after it: `(index .X 0).HostPort`) is one."""
    out, i = [], 0
    while i < len(tokens):
        if tokens[i] == ("sym", "("):
            depth, j = 0, i
            while True:
                if tokens[j] == ("sym", "("):
                    depth += 1
                elif tokens[j] == ("sym", ")"):
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
                if j == len(tokens):
                    raise TemplateError("template: :1: unclosed left paren")
            group = [("paren", tokens[i + 1:j])]
            if j + 1 < len(tokens) and tokens[j + 1][0] == "field" and tokens[j + 1][1].startswith("."):
                group.append(tokens[j + 1])
                j += 1
            out.append(group)
            i = j + 1
        else:
            out.append([tokens[i]])
            i += 1
    return out


def _fields(value, path: str):
    for name in [p for p in path.split(".") if p]:
        if isinstance(value, dict):
            if name not in value:
                raise TemplateError(f'template: :1: executing "" at <.{name}>: map has no entry for key "{name}"')
            value = value[name]
        elif value is None:
            raise TemplateError(f"template: :1: executing \"\" at <.{name}>: nil pointer evaluating .{name}")
        else:
            raise TemplateError(f"template: :1: executing \"\" at <.{name}>: can't evaluate field {name}")
    return value


# ---------------------------------------------------------------- functions

def _index(value, *keys):
    for key in keys:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            if isinstance(value, dict):
                return None  # Go's index of a missing map key: the zero value
            raise TemplateError(f"template: :1: error calling index: index out of range: {key}") from None
    return value


def _printf(fmt: str, *args) -> str:
    out, i = [], 0
    values = list(args)
    for m in re.finditer(r"%([-+# 0]*\d*(?:\.\d+)?)([vsdqxXtf%])", fmt):
        out.append(fmt[i:m.start()])
        i = m.end()
        flags, verb = m.groups()
        if verb == "%":
            out.append("%")
            continue
        value = values.pop(0) if values else None
        if verb in "vs":
            out.append(("%" + flags + "s") % go_str(value))
        elif verb == "q":
            out.append(json.dumps(go_str(value) if not isinstance(value, str) else value))
        elif verb == "t":
            out.append(go_str(bool(value)))
        else:
            out.append(("%" + flags + verb) % value)
    return "".join(out) + fmt[i:]


def _cmp(op):
    def compare(a, b, *more):
        if op == "eq" and more:
            return any(a == x for x in (b, *more))
        return {"eq": a == b, "ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]
    return compare


def _and(*args):
    for a in args:
        if not _truth(a):
            return a
    return args[-1]


def _or(*args):
    for a in args:
        if _truth(a):
            return a
    return args[-1]


def _json(value) -> str:
    """Go's json.Marshal: compact, UTF-8 kept, and <, >, & escaped (its HTML-safe default)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


FUNCS = {
    "json": _json,
    "join": lambda items, sep: sep.join(go_str(i) for i in items),
    "split": lambda s, sep: s.split(sep),
    "lower": lambda s: s.lower(), "upper": lambda s: s.upper(), "title": lambda s: s.title(),
    "truncate": lambda s, n: s[:n], "pad": lambda s, left, right: " " * left + s + " " * right,
    "len": lambda v: len(v or ()), "index": _index, "not": lambda v: not _truth(v), "and": _and, "or": _or,
    "print": lambda *a: "".join(go_str(x) for x in a),
    "println": lambda *a: " ".join(go_str(x) for x in a) + "\n",
    "printf": _printf,
    **{op: _cmp(op) for op in ("eq", "ne", "lt", "le", "gt", "ge")},
}


def render(template: str, obj) -> str:
    """The template applied to obj (dot and $)."""
    out: list[str] = []
    _Run(obj).nodes(_parse(template), obj, out)
    return "".join(out)
