"""cellrules: which cells must show a figure or sliders, and the problems found in a page snapshot (no browser)."""

import pytest

from cellrules import cell_problems, classify


def code(source, **extra):
    return {"cell_type": "code", "source": source, "metadata": extra.pop("metadata", {}), "id": extra.pop("id", "c"),
            "execution_count": extra.pop("execution_count", 1), "outputs": extra.pop("outputs", []),
            "images": extra.pop("images", 0), "sliders": extra.pop("sliders", 0),
            "widget_errors": extra.pop("widget_errors", [])}


def figure_flags(*sources):
    return [kind["figure"] for kind in classify([code(s) for s in sources])]


@pytest.mark.parametrize("source", [
    "fig, ax = plt.subplots()\nax.plot([1, 2])",
    "%matplotlib inline\nplt.figure()",
    "fig = viz.plot_repeated_multiplication(steps=10)",
    "for ax in axes:\n    ax.imshow(x)",
    "plt.gca().plot([1])",
    "widgets.interact(show, z=widgets.FloatSlider())",
])
def test_drawing_at_top_level_needs_a_figure(source):
    assert figure_flags(source) == [True]


@pytest.mark.parametrize("source", [
    "x = np.zeros(3)\nprint(x)",
    "def draw(ax):\n    ax.plot([1])",  # only defines: nothing is drawn when the cell runs
    "optimizer.step()\nbar.update(1)",  # names that also mean drawing elsewhere, on non-plotting objects
    "plt.rcParams['figure.dpi'] = 80",
    "this is not python (",
])
def test_cells_that_draw_nothing_need_no_figure(source):
    assert figure_flags(source) == [False]


def test_calling_a_plotting_function_defined_earlier_needs_a_figure():
    flags = figure_flags("def show(z):\n    fig, ax = plt.subplots()\n    ax.plot([z])",
                         "def helper(z):\n    return show(z)",  # draws through show
                         "show(0.5)", "helper(0.1)", "print(1)")
    assert flags == [False, False, True, True, False]


def test_tags_override_the_rule():
    cells = [code("print(1)", metadata={"tags": ["figure"]}),
             code("plt.subplots()", metadata={"tags": ["no-figure"]})]
    assert [kind["figure"] for kind in classify(cells)] == [True, False]


def test_sliders_are_expected_from_interact_or_slider_widgets():
    cells = [code("widgets.interact(f, z=(0, 1))"), code("s = widgets.FloatSlider()\ndisplay(s)"),
             code("def f():\n    interact(g)"), code("x = 1")]
    assert [kind["sliders"] for kind in classify(cells)] == [True, True, False, False]


def test_markdown_cells_need_nothing():
    assert classify([{"cell_type": "markdown", "source": "plt.subplots()"}]) == [{"figure": False, "sliders": False}]


def test_a_clean_snapshot_has_no_problem():
    cells = [code("import numpy as np"), code("plt.subplots()", images=1),
             code("widgets.interact(f, z=(0.0, 1.0))", images=1, sliders=1),
             {"cell_type": "markdown", "source": "# Title", "metadata": {}, "id": "m"},
             code("", execution_count=None)]  # an empty cell never runs, and that is fine
    assert cell_problems(cells) == []


def test_each_kind_of_problem_is_named():
    error = {"output_type": "error", "ename": "ValueError", "evalue": "bad shape", "traceback": []}
    cells = [code("x = f()", id="boom", outputs=[error]),
             code("plt.subplots()", id="nofig"),
             code("widgets.interact(f, z=(0.0, 1.0))", id="noslider", images=1),
             code("print(2)", id="skipped", execution_count=None),
             code("w", id="widget", widget_errors=["Error displaying widget: model not found"])]
    problems = cell_problems(cells)
    assert problems == [
        "cell 0 (boom) raised ValueError: bad shape",
        "cell 1 (nofig) should show a figure (its code draws one) but shows no image",
        "cell 2 (noslider) should show sliders (it calls interact) but shows none",
        "cell 3 (skipped) did not run (Run All stops after a failing cell)",
        "cell 4 (widget) shows a broken widget: Error displaying widget: model not found",
    ]


def test_a_failing_figure_cell_reports_the_error_not_the_missing_figure():
    error = {"output_type": "error", "ename": "NameError", "evalue": "name 'plt' is not defined", "traceback": []}
    assert cell_problems([code("plt.subplots()", id="f", outputs=[error])]) == [
        "cell 0 (f) raised NameError: name 'plt' is not defined"]
