"""coursekit.diagrams: the cells are the right graphs, and the figures draw one arrow per edge with the labels."""

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402
from matplotlib.text import Annotation  # noqa: E402

from coursekit import diagrams, fonts, i18n  # noqa: E402

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def close_figures():
    i18n.set_language(None)  # English figures, whatever another test chose
    yield
    plt.close("all")


def english(label):
    """A label as an English figure draws it on this machine (its Chinese terms only with a CJK font)."""
    return fonts.label(label, "en")


def arrows(ax):
    return [t for t in ax.texts if isinstance(t, Annotation)]


def labels(ax):
    return [t.get_text() for t in ax.texts if not isinstance(t, Annotation)]


def edge_pairs(diagram):
    return {(e.tail, e.head) for e in diagram.edges}


def test_rnn_cell_has_no_bold_path():
    cell = diagrams.rnn_cell()
    assert len(cell.edges) == 4 and not any(e.bold for e in cell.edges)
    assert ("tanh", "h") in edge_pairs(cell)


def test_lstm_cell_state_path_is_bold_and_skips_every_layer():
    cell = diagrams.lstm_cell()
    assert len(cell.edges) == 15
    bold = [(e.tail, e.head) for e in cell.edges if e.bold]
    assert bold == [("c_prev", "mul_f"), ("mul_f", "add"), ("add", "c")]
    assert all(cell.nodes[name].kind in ("input", "op", "output") for pair in bold for name in pair)


@pytest.mark.parametrize("reset", diagrams.RESETS)
def test_gru_direct_path_is_bold_and_meets_only_elementwise_operations(reset):
    cell = diagrams.gru_cell(reset)
    assert len(cell.edges) == 16
    bold = [(e.tail, e.head) for e in cell.edges if e.bold]
    assert bold == [("h_prev", "mul_z"), ("mul_z", "add"), ("add", "h")]
    assert all(cell.nodes[name].kind in ("input", "op", "output") for pair in bold for name in pair)
    assert set(cell.framed) == {"linear", "mul_r"}


def test_gru_placements_differ_only_in_the_order_of_the_reset_product_and_the_linear_map():
    after, before = diagrams.gru_cell("after"), diagrams.gru_cell("before")
    assert edge_pairs(after) - edge_pairs(before) == {("h_prev", "linear"), ("linear", "mul_r"), ("mul_r", "n")}
    assert edge_pairs(before) - edge_pairs(after) == {("h_prev", "mul_r"), ("mul_r", "linear"), ("linear", "n")}
    same = set(after.nodes) - set(after.framed)
    assert all(after.nodes[name] == before.nodes[name] for name in same)
    assert after.frame_caption != before.frame_caption


def test_gru_cell_rejects_an_unknown_placement():
    with pytest.raises(ValueError, match="reset must be one of"):
        diagrams.gru_cell("middle")


def test_a_diagram_with_an_edge_to_a_missing_node_is_refused():
    with pytest.raises(ValueError, match="do not exist: \\['y'\\]"):
        diagrams.Diagram("t", {"x": diagrams.Node(0, 0, "x")}, (diagrams.Edge("x", "y"),))


@pytest.mark.parametrize("make", [diagrams.rnn_cell, diagrams.lstm_cell, lambda: diagrams.gru_cell("after"),
                                  lambda: diagrams.gru_cell("before")])
def test_draw_makes_one_arrow_per_edge_and_one_box_per_node(make):
    cell = make()
    fig = diagrams.draw(cell)
    ax = fig.axes[0]
    assert len(arrows(ax)) == len(cell.edges)
    drawn = labels(ax)
    for node in cell.nodes.values():
        assert english(node.label) in drawn
    for edge in cell.edges:
        if edge.label:
            assert english(edge.label) in drawn
    assert ax.get_title() == english(cell.title)
    frames = [p for p in ax.patches if isinstance(p, FancyBboxPatch) and p.get_gid() == "reset-placement"]
    assert len(frames) == (1 if cell.framed else 0)
    fig.canvas.draw()  # mathtext in every label parses


def test_comparison_has_the_four_cells_and_marks_both_reset_placements():
    fig = diagrams.plot_cell_comparison()
    assert len(fig.axes) == 4
    counts = [len(arrows(ax)) for ax in fig.axes]
    assert counts == [4, 15, 16, 16]
    captions = [text for ax in fig.axes for text in labels(ax) if text.startswith("dashed box")]
    assert len(captions) == 2
    assert "PyTorch" in captions[0] and "Cho et al." in captions[1]
    fig.canvas.draw()


def test_reset_placements_draws_the_two_gru_cells():
    fig = diagrams.plot_reset_placements()
    assert [ax.get_title() for ax in fig.axes] == [english(diagrams.gru_cell(r).title) for r in diagrams.RESETS]


def test_chinese_terms_are_drawn_only_with_a_cjk_font():
    fig = diagrams.plot_cell_comparison()
    texts = [text for ax in fig.axes for text in labels(ax) + [ax.get_title()]]
    has_chinese = any(CHINESE.search(text) for text in texts)
    assert has_chinese == (fonts.cjk_font() is not None)
    assert any("update gate" in text for text in texts)


def test_draw_graph_returns_the_boxes_by_name_for_any_graph():
    fig, ax = plt.subplots()
    nodes = {"a": diagrams.Node(0, 0, "$a$", "input"), "b": diagrams.Node(2, 0, "$b$", "output")}
    boxes = diagrams.draw_graph(ax, nodes, (diagrams.Edge("a", "b", "$w$", bold=True),))
    assert set(boxes) == {"a", "b"} and len(arrows(ax)) == 1
    assert "$w$" in labels(ax)
