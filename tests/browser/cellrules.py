"""What a learner must see after Run All, decided from the cells alone (no browser here, so it is unit-tested).

A cell must show a figure when its top-level code (not a function body) calls something that draws:
  - a pyplot function (``plt.subplots``, ``plt.plot``, ...), an Axes drawing method (``ax.plot``, ``ax.imshow``...),
  - a function named ``plot_*`` (coursekit.viz's figures),
  - ``interact`` (an ipywidgets figure with sliders),
  - or a function defined earlier in the notebook whose body does one of these.
Tags override the rule: ``figure`` forces it, ``no-figure`` exempts a cell (e.g. one that closes its figure).
A cell must show sliders when its top-level code calls ``interact``/``interactive`` or builds a ``*Slider``.
"""

import ast
import re

PYPLOT_NAMES = {"plt", "pyplot"}
PYPLOT_DRAWING = {"figure", "subplots", "subplot", "plot", "imshow", "matshow", "bar", "barh", "hist", "scatter",
                  "semilogy", "semilogx", "loglog", "fill_between", "errorbar", "pcolormesh", "contour", "contourf",
                  "stem", "show", "axhline", "axvline", "heatmap"}
# Methods whose names are specific enough to mean an Axes (optimizer.step or pbar.update must not count).
AXES_DRAWING = {"plot", "imshow", "matshow", "scatter", "semilogy", "semilogx", "loglog", "fill_between",
                "errorbar", "pcolormesh", "contourf", "axhline", "axvline", "barh"}
WIDGET_FIGURES = {"interact", "interactive", "interact_manual"}
MAGIC = re.compile(r"^\s*[%!]")


def _parse(source):
    # IPython magics (%matplotlib inline, !ls) are no Python: blank them out so the rest still parses.
    code = "\n".join("" if MAGIC.match(line) else line for line in source.splitlines())
    try:
        return ast.parse(code)
    except SyntaxError:
        return None


def _dotted(node):
    """['plt', 'subplots'] for plt.subplots, ['viz', 'plot_x'] for viz.plot_x, ['draw'] for draw."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):  # plt.gca().plot(...)
        parts.extend(reversed(_dotted(node.func)))
    return list(reversed(parts))


def _calls(tree, *, top_level):
    """Calls in ``tree``; with top_level, those that run when the cell runs (not inside def, class or lambda)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if top_level and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                for decorator in getattr(child, "decorator_list", []):
                    stack.append(decorator)
                continue
            if isinstance(child, ast.Call):
                yield _dotted(child.func), child
            stack.append(child)


def _draws(name, plotting_functions):
    if not name:
        return False
    last = name[-1]
    if len(name) > 1 and name[0] in PYPLOT_NAMES and last in PYPLOT_DRAWING:
        return True
    if len(name) > 1 and last in AXES_DRAWING:
        return True
    return last.startswith("plot_") or last in WIDGET_FIGURES or (len(name) == 1 and last in plotting_functions)


def _builds_sliders(name):
    return bool(name) and (name[-1] in WIDGET_FIGURES or name[-1].endswith("Slider"))


def _tags(cell):
    return set(cell.get("metadata", {}).get("tags", []) or [])


def classify(cells):
    """For each cell (dicts with cell_type, source, metadata), a dict {figure: bool, sliders: bool}."""
    plotting_functions = set()  # functions defined so far whose body draws, so calling them draws
    result = []
    for cell in cells:
        kinds = {"figure": False, "sliders": False}
        tree = _parse(cell.get("source", "")) if cell.get("cell_type") == "code" else None
        if tree is not None:
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    body = ast.Module(body=node.body, type_ignores=[])
                    if any(_draws(name, plotting_functions) for name, _ in _calls(body, top_level=False)):
                        plotting_functions.add(node.name)
            top = [name for name, _ in _calls(tree, top_level=True)]
            kinds["figure"] = any(_draws(name, plotting_functions) for name in top)
            kinds["sliders"] = any(_builds_sliders(name) for name in top)
        tags = _tags(cell)
        if "figure" in tags:
            kinds["figure"] = True
        if "no-figure" in tags:
            kinds["figure"] = False
        result.append(kinds)
    return result


def cell_problems(cells):
    """Problems a learner would see after Run All, from a page snapshot.

    cells: dicts with id, cell_type, source, metadata, execution_count, outputs (nbformat output dicts, as the
    page's notebook model holds them), images (number of <img> shown in the cell's output area), sliders (number
    of slider widgets shown) and widget_errors (texts of widgets that failed to display).
    Returns a list of messages, one per problem; empty when the notebook looks right.
    """
    problems = []
    expected = classify(cells)
    for index, (cell, kinds) in enumerate(zip(cells, expected)):
        if cell.get("cell_type") != "code":
            continue
        name = f"cell {index} ({cell.get('id') or 'no id'})"
        errors = [out for out in cell.get("outputs", []) if out.get("output_type") == "error"]
        for error in errors:
            problems.append(f"{name} raised {error.get('ename', '?')}: {error.get('evalue', '')}".rstrip())
        if cell.get("execution_count") is None and cell.get("source", "").strip():
            problems.append(f"{name} did not run (Run All stops after a failing cell)")
            continue
        for text in cell.get("widget_errors", []):
            problems.append(f"{name} shows a broken widget: {text.strip()[:200]}")
        if kinds["figure"] and not errors and cell.get("images", 0) == 0:
            problems.append(f"{name} should show a figure (its code draws one) but shows no image")
        if kinds["sliders"] and not errors and cell.get("sliders", 0) == 0:
            problems.append(f"{name} should show sliders (it calls interact) but shows none")
    return problems
