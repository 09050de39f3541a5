"""How alike the class's graded functions are, pair by pair: a ranked HTML report for the instructor.

It never changes a score: it reads the hand-ins and writes a page. A high similarity is a reason to look at two
hand-ins side by side, not a proof of copying: short functions written from the same formula are alike, which is
why the weighting below discounts what much of the class wrote.

For each graded function (the target of each autograded item), each student's last definition of it is parsed and
normalised on its syntax tree, so that formatting, comments, the docstring and the names of local variables and
arguments do not matter: every local name becomes ``_``, long strings become ``S``, the statements of each block and the
operands of ``+`` and ``*`` are put in a canonical order; short string constants (dictionary keys) are kept (reordered independent statements and ``b + a`` for
``a + b`` compare equal). Its fingerprint is the set of all subtrees of at least ``MIN_NODES`` nodes; the subtrees
of the released template (the stub and whatever code it gives) are removed. Two fingerprints are compared by the
weighted Jaccard index, each subtree weighted by its rarity in the class, log((N + 1) / (df + 1)) for a subtree
that df of the N students wrote: what everybody writes weighs almost nothing, a quirk two students share weighs a
lot. Pairs are ranked by their mean similarity over the graded functions both wrote.

Evaluated libraries: copydetect 0.5.0 (winnowed character k-grams of pygments tokens; it maps attribute names to
the same symbol as variables, so ``np.tanh`` and ``np.exp`` compare equal, and it has no class-frequency weighting)
and pycode_similar 1.4 (difflib on AST dumps against one reference at a time: a class of 300 is 45,000 difflib
runs per function). The standard library's ``ast`` with the weighting above fits better and adds no dependency.
"""

import ast
import dataclasses
import html
import math
import types
from itertools import combinations

import numpy as np

from autograder.assignment import cell_kind

MIN_NODES = 4  # smaller subtrees (a name, x.T, a constant) say nothing about who wrote the code
COMMUTATIVE = (ast.Add, ast.Mult, ast.BitAnd, ast.BitOr, ast.BitXor)


@dataclasses.dataclass(frozen=True)
class Pair:
    a: str
    b: str
    score: float                 # mean over the functions both wrote
    scores: dict                 # function -> similarity in [0, 1]


# -- source and normalisation -------------------------------------------------------------------------------------

def _code(cell_source):
    """A code cell without IPython magics and shell escapes (they are not Python)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell_source.splitlines())


def functions(notebook, targets, only_solution_cells=False):
    """{target: (source, FunctionDef/ClassDef node)} of the last definition of each target in the notebook."""
    found = {}
    for cell in notebook.cells:
        if cell.cell_type != "code" or (only_solution_cells and cell_kind(cell) != "solution"):
            continue
        source = _code(cell.source)
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in targets:
                found[node.name] = (ast.get_source_segment(source, node) or "", node)
    return found


def _local_names(node):
    """Names bound inside the definition: its arguments, assigned names, loop and comprehension targets."""
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.arg):
            names.add(sub.arg)
        elif isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            names.add(sub.id)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and sub is not node:
            names.add(sub.name)
    return names


def _without_docstring(body):
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:]
    return body


class _Canon:
    """Canonical text of every subtree of one definition, bottom up: (text, node count) per node."""

    def __init__(self, local):
        self.local, self.subtrees = local, []

    def visit(self, node):
        if isinstance(node, ast.Name):
            return ("_" if node.id in self.local else node.id), 1
        if isinstance(node, ast.arg):
            return "_", 1
        if isinstance(node, ast.Constant):  # short strings stay (p["W_ir"] is not p["W_iz"]), long ones do not
            long_text = isinstance(node.value, (str, bytes)) and len(node.value) > 30
            return ("S" if long_text else repr(node.value)), 1
        parts, size = [], 1
        for field, value in ast.iter_fields(node):
            if field in ("ctx", "type_comment", "kind", "lineno", "col_offset", "end_lineno", "end_col_offset"):
                continue
            if field == "name" and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                value = "_"
            if field == "body" and isinstance(value, list):
                value = _without_docstring(value)
            if isinstance(value, list):
                texts = []
                for item in value:
                    text, n = self.visit(item) if isinstance(item, ast.AST) else (repr(item), 0)
                    texts.append(text)
                    size += n
                if field in ("body", "orelse", "finalbody"):  # statement order: canonical
                    texts.sort()
                parts.append(f"{field}=[{','.join(texts)}]")
            elif isinstance(value, ast.AST):
                text, n = self.visit(value)
                parts.append(f"{field}={text}")
                size += n
            else:
                parts.append(f"{field}={value!r}")
        if isinstance(node, ast.BinOp) and isinstance(node.op, COMMUTATIVE):
            parts = [parts[1], *sorted([parts[0].split("=", 1)[1], parts[2].split("=", 1)[1]])]
        text = f"{type(node).__name__}({';'.join(parts)})"
        if size >= MIN_NODES:
            self.subtrees.append(text)
        return text, size


def fingerprint(node):
    """The set of canonical subtrees (at least MIN_NODES nodes) of a definition."""
    canon = _Canon(_local_names(node))
    for statement in _without_docstring(node.body):
        canon.visit(statement)
    return frozenset(canon.subtrees)


# -- comparison ----------------------------------------------------------------------------------------------------

def similarities(prints):
    """{(a, b): weighted Jaccard} for every pair of ``prints`` ({student: fingerprint}), a < b."""
    students = sorted(prints)
    if len(students) < 2:
        return {}
    df = {}
    for s in students:
        for h in prints[s]:
            df[h] = df.get(h, 0) + 1
    n = len(students)
    weight = {h: math.log((n + 1) / (d + 1)) for h, d in df.items()}
    totals = np.array([sum(weight[h] for h in prints[s]) for s in students])
    shared = [h for h, d in df.items() if d > 1 and weight[h] > 0]  # only these can be in two fingerprints
    column = {h: j for j, h in enumerate(shared)}
    matrix = np.zeros((n, len(shared)), dtype=np.float64)
    for i, s in enumerate(students):
        for h in prints[s]:
            j = column.get(h)
            if j is not None:
                matrix[i, j] = 1.0
    common = (matrix * np.array([weight[h] for h in shared])) @ matrix.T  # weighted size of each intersection
    union = totals[:, None] + totals[None, :] - common
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(union > 0, common / union, 0.0)
    return {(students[i], students[j]): float(score[i, j]) for i, j in combinations(range(n), 2)}


def rank(by_function):
    """Pairs of students ranked by their mean similarity; ``by_function``: {function: {student: fingerprint}}."""
    per_function = {name: similarities(prints) for name, prints in by_function.items()}
    pairs = {}
    for name, table in per_function.items():
        for key, value in table.items():
            pairs.setdefault(key, {})[name] = value
    ranked = [Pair(a, b, sum(scores.values()) / len(scores), scores) for (a, b), scores in pairs.items()]
    return sorted(ranked, key=lambda p: (-p.score, p.a, p.b))


# -- a class -------------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class ClassCode:
    """What the report compares: each student's source and fingerprint per graded function."""

    functions: list                              # graded function names, in notebook order
    sources: dict                                # (student, function) -> source
    prints: dict                                 # function -> {student: fingerprint}
    unreadable: list                             # students whose notebook could not be read


def class_code(assignment, notebooks):
    """ClassCode of ``notebooks`` ({student: NotebookNode or None when unreadable}) for ``assignment``."""
    targets = list(dict.fromkeys(item.target for item in assignment.tests.values()))
    released = types.SimpleNamespace(cells=assignment.released)
    template = {name: fingerprint(node) for name, (_, node) in functions(released, set(targets)).items()}
    sources, prints, unreadable = {}, {name: {} for name in targets}, []
    for student, notebook in sorted(notebooks.items()):
        if notebook is None:
            unreadable.append(student)
            continue
        for name, (source, node) in functions(notebook, set(targets)).items():
            found = fingerprint(node) - template.get(name, frozenset())
            if found:  # the untouched stub leaves nothing to compare
                sources[(student, name)] = source
                prints[name][student] = found
    return ClassCode(targets, sources, prints, unreadable)


# -- the report ----------------------------------------------------------------------------------------------------

def report_html(assignment_name, code, pairs, top=50, names=None):
    """The ranked HTML report: the ``top`` pairs, each with its per-function scores and the two sources."""
    e, names = html.escape, names or {}

    def who(student):
        name = names.get(student)
        return e(student) + (f" <small>({e(name)})</small>" if name else "")

    rows, details = [], []
    for rank_, pair in enumerate(pairs[:top], 1):
        cells = "".join(f"<td>{pair.scores[f]:.2f}</td>" if f in pair.scores else "<td>-</td>"
                        for f in code.functions)
        rows.append(f'<tr><td><a href="#pair{rank_}">{rank_}</a></td><td>{who(pair.a)}</td><td>{who(pair.b)}</td>'
                    f"<td><b>{pair.score:.2f}</b></td>{cells}</tr>")
        blocks = []
        for function in code.functions:
            if function not in pair.scores:
                continue
            left, right = code.sources.get((pair.a, function), ""), code.sources.get((pair.b, function), "")
            blocks.append(f"<h3>{e(function)}: {pair.scores[function]:.2f}</h3><div class='side'>"
                          f"<pre>{e(left)}</pre><pre>{e(right)}</pre></div>")
        details.append(f'<section id="pair{rank_}"><h2>{rank_}. {who(pair.a)} and {who(pair.b)}: '
                       f"{pair.score:.2f}</h2>{''.join(blocks)}</section>")
    counts = ", ".join(f"{e(f)}: {len(code.prints[f])}" for f in code.functions)
    unreadable = (f"<p>Not compared (unreadable notebook): {e(', '.join(code.unreadable))}</p>"
                  if code.unreadable else "")
    head = "".join(f"<th>{e(f)}</th>" for f in code.functions)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(assignment_name)}: code similarity</title>
<style>
body {{ font-family: sans-serif; margin: 2rem; }} table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: right; }}
.side {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }}
pre {{ background: #f6f6f6; padding: 0.5rem; overflow-x: auto; font-size: 0.85rem; }}
</style></head><body>
<h1>{e(assignment_name)}: code similarity of the graded functions</h1>
<p>For the instructor only. This report changes no score. A high similarity is a reason to look at two hand-ins,
not proof of copying: code is compared after removing the released template, local names, formatting and statement
order, and what much of the class wrote counts little. Functions compared (students who wrote them): {counts}.</p>
{unreadable}
<table><tr><th>#</th><th>student</th><th>student</th><th>mean</th>{head}</tr>
{''.join(rows)}</table>
{''.join(details)}
</body></html>
"""
