"""Cell diagrams (结构图) drawn with matplotlib: the plain RNN, the LSTM and the GRU, notebooks 01-03.

Each cell is data first, a :class:`Diagram` of boxes (:class:`Node`) and arrows (:class:`Edge`), built by one small
function per cell type (:func:`rnn_cell`, :func:`lstm_cell`, :func:`gru_cell`), and drawn by :func:`draw`. The
figures the notebooks show:

- :func:`plot_cell_comparison`  notebook 01: RNN, LSTM and GRU side by side, the additive memory paths in bold
- :func:`plot_reset_placements` notebooks 01-02: the two GRU candidates, the part where they differ framed
- :func:`draw_graph`            notebook 03: any computational graph given as nodes and edges

Inputs sit on the left, the new state leaves on the right. Thick red arrows are the paths along which the memory
(and its gradient) passes without a weight matrix or a squashing nonlinearity.

Labels are drawn in the figure language of :mod:`coursekit.fonts`, like the figures of :mod:`coursekit.viz`: English
with Chinese terms (left out when no CJK font is installed), or Chinese in a Chinese notebook with a CJK font. The
cells hold their labels as N_-marked English templates, translated when drawn; the labels of a caller's own graph
are drawn as given. matplotlib is imported inside the drawing functions, not at ``import coursekit.diagrams``.
"""

import dataclasses

from coursekit import fonts
from coursekit.i18n import N_, Text

RESETS = ("after", "before")
# Fill colour of each kind of box: inputs, layers (an affine map and a nonlinearity), elementwise operations,
# outputs.
COLOURS = {"input": "#e8f0fe", "layer": "#fff4d6", "op": "white", "output": "#e6f4ea"}
BOLD_COLOUR = "C3"


@dataclasses.dataclass(frozen=True)
class Node:
    """A box at (x, y) in data coordinates. kind: "input", "layer", "op" (elementwise, drawn round) or "output"."""

    x: float
    y: float
    label: str
    kind: str = "layer"


@dataclasses.dataclass(frozen=True)
class Edge:
    """An arrow from node ``tail`` to node ``head``, with an optional label; bold marks an additive memory path."""

    tail: str
    head: str
    label: str = ""
    bold: bool = False


@dataclasses.dataclass(frozen=True)
class Diagram:
    """A cell to draw: named nodes, edges between them, and optionally a framed group of nodes with a caption."""

    title: str
    nodes: dict
    edges: tuple
    framed: tuple = ()
    frame_caption: str = ""

    def __post_init__(self):
        unknown = sorted({name for e in self.edges for name in (e.tail, e.head)} - set(self.nodes))
        unknown += sorted(set(self.framed) - set(self.nodes))
        if unknown:
            raise ValueError(f"{self.title}: edges or frame name nodes that do not exist: {unknown}")


# ----------------------------------------------------------------------------------------------------------------
# The cells, as data
# ----------------------------------------------------------------------------------------------------------------

def rnn_cell():
    """The plain (Elman) RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh). No path skips the tanh."""
    nodes = {
        "x": Node(0.0, 0.0, "$x_t$", "input"),
        "h_prev": Node(0.0, 2.4, "$h_{t-1}$", "input"),
        "affine": Node(3.2, 1.2, "$W_{ih}x_t + b_{ih}$\n$+\\, W_{hh}h_{t-1} + b_{hh}$"),
        "tanh": Node(6.2, 1.2, "tanh"),
        "h": Node(8.6, 1.2, "$h_t$", "output"),
    }
    edges = (Edge("x", "affine"), Edge("h_prev", "affine"), Edge("affine", "tanh"), Edge("tanh", "h"))
    return Diagram(N_("plain RNN (循环神经网络)"), nodes, edges)


def lstm_cell():
    """The LSTM (gate order i, f, g, o like nn.LSTM): c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t)."""
    nodes = {
        "c_prev": Node(0.0, 4.4, "$c_{t-1}$", "input"),
        "in": Node(0.0, 1.6, "$x_t,\\ h_{t-1}$", "input"),
        "f": Node(2.6, 3.3, N_("forget gate (遗忘门)\n$f_t = \\sigma(\\cdot)$")),
        "i": Node(2.6, 2.1, N_("input gate (输入门)\n$i_t = \\sigma(\\cdot)$")),
        "g": Node(2.6, 0.9, "$g_t = \\tanh(\\cdot)$"),
        "o": Node(2.6, -0.3, N_("output gate (输出门)\n$o_t = \\sigma(\\cdot)$")),
        "mul_f": Node(5.0, 4.4, "$\\odot$", "op"),
        "mul_ig": Node(5.0, 1.5, "$\\odot$", "op"),
        "add": Node(6.6, 4.4, "+", "op"),
        "tanh_c": Node(6.6, 1.5, "tanh"),
        "mul_o": Node(8.0, -0.3, "$\\odot$", "op"),
        "c": Node(9.4, 4.4, "$c_t$", "output"),
        "h": Node(9.4, -0.3, "$h_t$", "output"),
    }
    edges = (
        Edge("in", "f"), Edge("in", "i"), Edge("in", "g"), Edge("in", "o"),
        Edge("c_prev", "mul_f", bold=True), Edge("f", "mul_f"), Edge("i", "mul_ig"), Edge("g", "mul_ig"),
        Edge("mul_f", "add", bold=True), Edge("mul_ig", "add"), Edge("add", "c", bold=True),
        Edge("add", "tanh_c"), Edge("tanh_c", "mul_o"), Edge("o", "mul_o"), Edge("mul_o", "h"),
    )
    return Diagram(N_("LSTM (长短期记忆网络)"), nodes, edges)


_RESET_CAPTIONS = {
    "after": N_("reset after the product, $r_t \\odot (W_{hn}h_{t-1} + b_{hn})$: PyTorch, cuDNN, "
                "Keras reset_after=True"),
    "before": N_("reset before the product, $W_{hn}(r_t \\odot h_{t-1}) + b_{hn}$: Cho et al. 2014 (final "
                 "version), d2l"),
}
_GRU_TITLES = {"after": N_("GRU (门控循环单元), reset after"), "before": N_("GRU (门控循环单元), reset before")}


def gru_cell(reset="after"):
    """The GRU of PyTorch's formula, h_t = (1 - z_t) * n_t + z_t * h_{t-1}, with the reset gate r applied
    ``reset="after"`` the product W_hn h_{t-1} + b_hn (PyTorch, cuDNN) or ``"before"`` it (Cho et al., d2l).

    The two placements differ only in the order of two boxes on the candidate's hidden input; they are framed.
    """
    if reset not in RESETS:
        raise ValueError(f"reset must be one of {RESETS}, got {reset!r}")
    first, second = (2.6, 3.0), (4.6, 3.0)  # where the reset gate's product and the W_hn box sit, in order
    linear_at, product_at = (first, second) if reset == "after" else (second, first)
    nodes = {
        "h_prev": Node(0.0, 5.0, "$h_{t-1}$", "input"),
        "x": Node(0.0, -0.4, "$x_t$", "input"),
        "r": Node(1.8, 1.3, N_("reset gate (重置门)\n$r_t = \\sigma(\\cdot)$")),
        "z": Node(7.4, 3.2, N_("update gate (更新门)\n$z_t = \\sigma(\\cdot)$")),
        "linear": Node(*linear_at, "$W_{hn}\\,\\cdot + b_{hn}$"),
        "mul_r": Node(*product_at, "$\\odot$", "op"),
        "n": Node(6.0, 1.1, N_("candidate (候选状态)\n$n_t = \\tanh(W_{in}x_t + b_{in} + \\cdot)$")),
        "mul_z": Node(7.4, 5.0, "$\\odot$", "op"),
        "mul_n": Node(9.0, 1.1, "$\\odot$", "op"),
        "add": Node(9.0, 5.0, "+", "op"),
        "h": Node(10.6, 5.0, "$h_t$", "output"),
    }
    hidden_input = ((Edge("h_prev", "linear"), Edge("linear", "mul_r"), Edge("mul_r", "n")) if reset == "after"
                    else (Edge("h_prev", "mul_r"), Edge("mul_r", "linear"), Edge("linear", "n")))
    edges = (
        Edge("x", "r"), Edge("x", "z"), Edge("x", "n"), Edge("h_prev", "r"), Edge("h_prev", "z"),
        *hidden_input, Edge("r", "mul_r", "$r_t$"),
        Edge("n", "mul_n"), Edge("z", "mul_n", "$1 - z_t$"), Edge("z", "mul_z", "$z_t$"),
        Edge("h_prev", "mul_z", N_("direct path"), bold=True), Edge("mul_z", "add", bold=True), Edge("mul_n", "add"),
        Edge("add", "h", bold=True),
    )
    return Diagram(_GRU_TITLES[reset], nodes, edges, framed=("linear", "mul_r"),
                   frame_caption=_RESET_CAPTIONS[reset])


# ----------------------------------------------------------------------------------------------------------------
# Drawing
# ----------------------------------------------------------------------------------------------------------------

def draw_graph(ax, nodes, edges, *, fontsize=9, language=None):
    """Draw boxes and arrows into ``ax`` and return {node name: its Text}.

    nodes: {name: Node}; edges: Edges between them. Arrows are clipped to the boxes' outlines; where several arrows
    leave a box, each is drawn (going backward through a computational graph, their gradients add up).
    language: of the labels (default: :func:`coursekit.fonts.figure_language`, the notebook's when a font can draw
    it); labels that are N_-marked templates or Texts are translated, other strings drawn as given.
    """
    language = fonts.figure_language() if language is None else language
    kw = fonts.text_kw(language)
    boxes = {}
    for name, node in nodes.items():
        style = "circle,pad=0.15" if node.kind == "op" else "round,pad=0.35"
        boxes[name] = ax.text(node.x, node.y, fonts.label(node.label, language), ha="center", va="center",
                              fontsize=fontsize, zorder=3, bbox=dict(boxstyle=style, fc=COLOURS[node.kind], ec="0.35"), **kw)
    for edge in edges:
        tail, head = nodes[edge.tail], nodes[edge.head]
        colour = BOLD_COLOUR if edge.bold else "0.45"
        # drawn above the boxes so that each arrow is clipped to the outlines of the boxes it joins
        ax.annotate("", xy=(head.x, head.y), xytext=(tail.x, tail.y), zorder=4, arrowprops=dict(
            arrowstyle="-|>", mutation_scale=13, lw=2.8 if edge.bold else 1.1, color=colour, shrinkA=1, shrinkB=1,
            patchA=boxes[edge.tail].get_bbox_patch(), patchB=boxes[edge.head].get_bbox_patch()))
        if edge.label:
            ax.text((tail.x + head.x) / 2, (tail.y + head.y) / 2, fonts.label(edge.label, language),
                    fontsize=fontsize - 1, ha="center", va="center", zorder=5, color=colour if edge.bold else "C0",
                    bbox=dict(fc="white", ec="none", pad=0.2), **kw)
    xs, ys = [n.x for n in nodes.values()], [n.y for n in nodes.values()]
    ax.set_xlim(min(xs) - 1.2, max(xs) + 1.2)  # text does not count for autoscaling: leave room for the boxes
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    ax.set_axis_off()
    return boxes


def _frame(ax, diagram, language):
    """A dashed rectangle around the framed nodes, with the caption under the panel."""
    from matplotlib.patches import FancyBboxPatch

    framed = [diagram.nodes[name] for name in diagram.framed]
    x0, x1 = min(n.x for n in framed) - 0.95, max(n.x for n in framed) + 0.95
    y0, y1 = min(n.y for n in framed) - 0.45, max(n.y for n in framed) + 0.45
    ax.add_patch(FancyBboxPatch((x0, y0), x1 - x0, y1 - y0, boxstyle="round,pad=0.05", fill=False,
                                ec=BOLD_COLOUR, ls="--", lw=1.4, zorder=2, gid="reset-placement"))
    # below the drawing, where no arrow runs
    caption = Text("dashed box: {caption}", caption=Text(diagram.frame_caption) if diagram.frame_caption else "")
    ax.text(0.5, 0.0, fonts.label(caption, language), transform=ax.transAxes, ha="center", va="top", fontsize=9,
            color=BOLD_COLOUR, **fonts.text_kw(language))


def draw(diagram, *, ax=None, language=None):
    """Draw one :class:`Diagram` (with its frame, if any) and return the Figure; language as in :func:`draw_graph`."""
    import matplotlib.pyplot as plt

    language = fonts.figure_language() if language is None else language
    fig, ax = plt.subplots(figsize=(7, 4)) if ax is None else (ax.figure, ax)
    draw_graph(ax, diagram.nodes, diagram.edges, language=language)
    if diagram.framed:
        _frame(ax, diagram, language)
    ax.set_title(fonts.label(diagram.title, language), fontsize=11, **fonts.text_kw(language))
    return fig


def plot_cell_comparison():
    """Four panels: the plain RNN, the LSTM, and the GRU with each reset placement. Returns the Figure."""
    import matplotlib.pyplot as plt

    language = fonts.figure_language()
    fig, axes = plt.subplots(2, 2, figsize=(15, 9.5))
    for ax, diagram in zip(axes.flat, (rnn_cell(), lstm_cell(), gru_cell("after"), gru_cell("before"))):
        draw(diagram, ax=ax, language=language)
    fig.tight_layout()
    return fig


def plot_reset_placements():
    """The GRU with the reset gate after (PyTorch) and before (Cho et al.) the product, side by side."""
    import matplotlib.pyplot as plt

    language = fonts.figure_language()
    fig, axes = plt.subplots(1, 2, figsize=(15, 4.8))
    for ax, reset in zip(axes, RESETS):
        draw(gru_cell(reset), ax=ax, language=language)
    fig.tight_layout()
    return fig
