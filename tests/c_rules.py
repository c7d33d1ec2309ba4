"""A small linter for the C core's house rules (used by ``test_c_house_rules.py``).

It reads C the way a reviewer does, not the way a compiler does: comments, string
literals and preprocessor lines are blanked out (line numbers kept), then every
top-level ``{`` whose header ends in ``)`` is a function definition.  That is enough
for the code in ``csrc/`` (C99, one definition per header, no K&R style) and it keeps
the linter short enough to trust.

The rules (DESIGN.md "house style", issue #13):

* no file over :data:`MAX_FILE_LINES` lines, no function over
  :data:`MAX_FUNCTION_LINES` unless a ``long-function:`` comment above it says why;
* a line starting ``Ownership:`` in the comment directly above every function that
  returns or takes a ``PyObject *``;
* no ``Py*``/``_Py*``/``PyArray*`` call between ``Py_BEGIN_ALLOW_THREADS`` and
  ``Py_END_ALLOW_THREADS``;
* each helper family (UTF-8 validation, civil dates, the thread pool, byte hashing and
  the string dictionary) defined only under ``csrc/util/``, and ``pthread_create``
  called only there.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_LINES = 1000
MAX_FUNCTION_LINES = 150

#: function-name fragments of the helper families that must live in csrc/util/
FAMILIES = {
    "utf8": "UTF-8 validation",
    "civil": "civil dates (day count <-> year/month/day)",
    "pool": "the thread pool",
    "hash": "byte hashing",
    "strdict": "the string dictionary",
}
UTIL_DIR = "util"

_IDENT = re.compile(r"[A-Za-z_]\w*")
_PY_CALL = re.compile(r"\b(_?Py[A-Za-z]\w*|PyArray_\w+)\s*\(")
_PYOBJECT_PTR = re.compile(r"\bPyObject\s*\*")


@dataclass(frozen=True)
class Function:
    path: str
    name: str
    header: str          # return type, name and parameters, comments removed
    first_line: int      # 1-based line of the header's first line
    last_line: int       # 1-based line of the closing brace
    comment: str         # the comment directly above the header ("" if none)

    @property
    def lines(self) -> int:
        return self.last_line - self.first_line + 1


def blank(source: str) -> str:
    """The source with comments, string/char literals and preprocessor lines replaced
    by spaces (newlines kept, so offsets and line numbers stay)."""
    out = list(source)
    i, n = 0, len(source)
    at_line_start = True
    while i < n:
        c = source[i]
        if at_line_start and c in " \t":
            i += 1
            continue
        if at_line_start and c == "#":  # a preprocessor line, with its continuations
            j = i
            while j < n and not (source[j] == "\n" and source[j - 1] != "\\"):
                j += 1
            for k in range(i, j):
                if out[k] != "\n":
                    out[k] = " "
            i = j
            continue
        at_line_start = c == "\n"
        if source.startswith("/*", i):
            j = source.find("*/", i + 2)
            j = n if j < 0 else j + 2
        elif source.startswith("//", i):
            j = source.find("\n", i)
            j = n if j < 0 else j
        elif c in "\"'":
            j = i + 1
            while j < n and source[j] != c:
                j += 2 if source[j] == "\\" else 1
            j += 1
        else:
            i += 1
            continue
        for k in range(i, min(j, n)):
            if out[k] != "\n":
                out[k] = " "
        i = j
    return "".join(out)


def _comment_above(source: str, start: int) -> str:
    """The comment block that ends on the line directly above offset ``start``."""
    lines = source[:start].split("\n")[:-1]  # the lines before the header's line
    block: list[str] = []
    if lines and lines[-1].rstrip().endswith("*/"):
        while lines:
            line = lines.pop()
            block.append(line)
            if "/*" in line:
                break
    else:
        while lines and lines[-1].lstrip().startswith("//"):
            block.append(lines.pop())
    return "\n".join(reversed(block))


def functions(path: str, source: str) -> list[Function]:
    """Every function definition of a C file."""
    code = blank(source)
    found = []
    depth, header_start, i = 0, 0, 0
    while i < len(code):
        c = code[i]
        if c == "{":
            if depth == 0:
                header = code[header_start:i]
                m = re.search(r"([A-Za-z_]\w*)\s*\((?:[^()]|\([^()]*\))*\)\s*$", header)
                if m and "=" not in header:
                    # skip the whitespace before the header's first token
                    start = header_start + len(header) - len(header.lstrip())
                    end = _matching(code, i)
                    found.append(Function(
                        path=path, name=m.group(1), header=" ".join(header.split()),
                        first_line=code.count("\n", 0, start) + 1,
                        last_line=code.count("\n", 0, end) + 1,
                        comment=_comment_above(source, start),
                    ))
                    i, header_start = end + 1, end + 1
                    continue
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                header_start = i + 1
        elif c == ";" and depth == 0:
            header_start = i + 1
        i += 1
    return found


def _matching(code: str, open_at: int) -> int:
    depth = 0
    for j in range(open_at, len(code)):
        if code[j] == "{":
            depth += 1
        elif code[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    raise ValueError(f"unbalanced braces from offset {open_at}")


def check_file(path: str, source: str) -> list[str]:
    """The house-rule violations of one file (``path`` relative to csrc/)."""
    problems = []
    nlines = source.count("\n") + (not source.endswith("\n"))
    if nlines > MAX_FILE_LINES:
        problems.append(f"{path}: {nlines} lines (at most {MAX_FILE_LINES})")
    code = blank(source)
    in_util = path.split("/")[0] == UTIL_DIR
    for f in functions(path, source):
        where = f"{path}:{f.first_line} {f.name}()"
        if f.lines > MAX_FUNCTION_LINES and "long-function:" not in f.comment:
            problems.append(f"{where}: {f.lines} lines (at most {MAX_FUNCTION_LINES}, "
                            "or a 'long-function:' comment saying why)")
        if _PYOBJECT_PTR.search(f.header) and not re.search(r"(?m)^\W*Ownership:", f.comment):
            problems.append(f"{where}: takes or returns PyObject * but has no 'Ownership:' line "
                            "in the comment directly above it")
        lowered = f.name.lower()
        for frag, family in FAMILIES.items():
            if frag in lowered and not in_util:
                problems.append(f"{where}: {family} helpers live in csrc/{UTIL_DIR}/")
    for m in re.finditer(r"\bPy_BEGIN_ALLOW_THREADS\b(.*?)\bPy_END_ALLOW_THREADS\b", code, re.S):
        for call in _PY_CALL.finditer(m.group(1)):
            line = code.count("\n", 0, m.start(1) + call.start()) + 1
            problems.append(f"{path}:{line}: {call.group(1)}() called without the GIL "
                            "(between Py_BEGIN_ALLOW_THREADS and Py_END_ALLOW_THREADS)")
    if not in_util:
        for m in re.finditer(r"\bpthread_create\s*\(", code):
            line = code.count("\n", 0, m.start()) + 1
            problems.append(f"{path}:{line}: pthread_create outside csrc/{UTIL_DIR}/ (use the one thread pool)")
    return problems


def check_tree(root: Path) -> tuple[list[str], list[Function]]:
    """All violations under ``root`` (csrc/) and every function found."""
    problems: list[str] = []
    every: list[Function] = []
    for p in sorted(root.rglob("*")):
        if p.suffix not in (".c", ".h"):
            continue
        rel = p.relative_to(root).as_posix()
        source = p.read_text(encoding="utf-8")
        problems += check_file(rel, source)
        every += functions(rel, source)
    return problems, every
