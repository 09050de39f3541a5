"""The figures' language (coursekit.fonts): English as before in an English notebook; Chinese labels in a Chinese
notebook when a CJK font is installed; English labels and one install hint when none is.

No test needs a real CJK font: where one is needed, the font finder is made to return DejaVu Sans, which matplotlib
always has; that tests the plumbing (which labels and which font family each Text gets), not the glyphs.
"""

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from coursekit import diagrams, fonts, gradcheck, i18n, poetry_viz, viz  # noqa: E402

# DejaVu Sans has no CJK glyphs: drawing a Chinese figure with it as the "CJK font" warns per glyph
pytestmark = pytest.mark.filterwarnings("ignore:Glyph .* missing from font")
ROOT = Path(__file__).resolve().parents[1]
FIGURE_MODULES = ("coursekit/viz.py", "coursekit/diagrams.py", "coursekit/poetry_viz.py", "coursekit/gradcheck.py",
                  "coursekit/train.py")


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    """No language chosen, no hint shown yet; figures closed afterwards."""
    monkeypatch.setattr(fonts, "_warned", False)
    i18n.set_language(None)
    yield
    i18n.set_language(None)
    plt.close("all")


@pytest.fixture
def font(monkeypatch):
    monkeypatch.setattr(fonts, "cjk_font", lambda: "DejaVu Sans")


@pytest.fixture
def no_font(monkeypatch):
    monkeypatch.setattr(fonts, "cjk_font", lambda: None)


def gates(T=6, H=3):
    rng = np.random.default_rng(0)
    return {"r": rng.uniform(0, 1, (T, H)), "z": rng.uniform(0, 1, (T, H))}


def texts(fig):
    """Every title, axis label, legend entry and free text of the figure."""
    found = [fig._suptitle.get_text()] if fig._suptitle else []
    for ax in fig.axes:
        found += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), *(t.get_text() for t in ax.texts)]
        if ax.get_legend():
            found += [t.get_text() for t in ax.get_legend().get_texts()]
    return [t for t in found if t]


def has_chinese(text):
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


# ----------------------------------------------------------------------------------------------------------------
# Finding a font, choosing the language
# ----------------------------------------------------------------------------------------------------------------

def test_importing_fonts_loads_no_matplotlib():
    code = "import coursekit.fonts, sys; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_cjk_font_is_the_first_listed_family_that_matplotlib_has(monkeypatch):
    fonts.cache_clear()
    monkeypatch.setattr(fonts, "CJK_FAMILIES", ("No Such Font", "DejaVu Sans", "DejaVu Serif"))
    assert fonts.cjk_font() == "DejaVu Sans"
    monkeypatch.setattr(fonts, "CJK_FAMILIES", ("No Such Font",))
    assert fonts.cjk_font() is None
    fonts.cache_clear()


@pytest.mark.parametrize("font_name", [None, "DejaVu Sans"])
def test_an_english_notebook_draws_english_figures_and_hears_nothing(monkeypatch, font_name):
    monkeypatch.setattr(fonts, "cjk_font", lambda: font_name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", fonts.MissingCJKFontWarning)
        assert fonts.figure_language() == "en"
        i18n.set_language("en")
        assert fonts.figure_language() == "en"


def test_a_chinese_notebook_draws_chinese_figures_only_with_a_font(monkeypatch):
    i18n.set_language("zh_CN")
    monkeypatch.setattr(fonts, "cjk_font", lambda: "DejaVu Sans")
    assert fonts.figure_language() == "zh_CN"
    monkeypatch.setattr(fonts, "cjk_font", lambda: None)
    with pytest.warns(fonts.MissingCJKFontWarning):
        assert fonts.figure_language() == "en"


def test_chinese_text_gets_the_cjk_font_first_and_english_text_only_as_a_fallback(font):
    usual = list(matplotlib.rcParams["font.family"])
    assert fonts.text_kw("zh_CN") == {"fontfamily": ["DejaVu Sans", *usual]}
    assert fonts.text_kw("en") == {"fontfamily": [*usual, "DejaVu Sans"]}


def test_without_a_font_english_text_keeps_matplotlibs_fonts(no_font):
    assert fonts.text_kw("en") == {}
    assert fonts.label(viz.GATE_LABELS["z"], "en") == "update gate z"


# ----------------------------------------------------------------------------------------------------------------
# English figures are unchanged
# ----------------------------------------------------------------------------------------------------------------

def test_english_figures_without_a_font_have_the_english_labels(no_font):
    fig = viz.plot_memory_half_life((0.9,))
    ax = fig.axes[0]
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == (
        "memory half-life of the update gate", "update gate z", "half-life k in steps")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["k = ln 0.5 / ln z", "marked z"]
    assert ax.texts[0].get_text() == "z = 0.9: k = 6.58"
    assert ax.title.get_fontfamily() == matplotlib.rcParams["font.family"]
    fig = diagrams.plot_reset_placements()
    assert [a.get_title() for a in fig.axes] == ["GRU, reset after", "GRU, reset before"]
    assert not any(has_chinese(t) for t in texts(fig))


def test_english_figures_with_a_font_keep_their_chinese_terms(font):
    fig = viz.plot_gate_heatmaps(gates())
    assert [a.get_title() for a in fig.axes[:2]] == ["reset gate r (重置门)", "update gate z (更新门)"]
    assert fig.axes[1].get_xlabel() == "time step t (时间步)"
    fig = viz.plot_training_curves({"GRU": [1.0, 0.5]}, baseline=0.2)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["GRU", "baseline (基线)"]


# ----------------------------------------------------------------------------------------------------------------
# Chinese figures
# ----------------------------------------------------------------------------------------------------------------

def test_chinese_figures_with_a_font_have_chinese_labels_in_that_font(font):
    i18n.set_language("zh_CN")
    before = dict(matplotlib.rcParams)
    fig = viz.plot_gate_heatmaps(gates(), title=i18n.N_("vanishing gradients (梯度消失)"))
    assert [a.get_title() for a in fig.axes[:2]] == ["重置门 r", "更新门 z"]
    assert fig.axes[0].get_ylabel() == "隐藏单元" and fig.axes[1].get_xlabel() == "时间步 t"
    assert fig.axes[2].get_ylabel() == "激活值" and fig._suptitle.get_text() == "梯度消失"
    assert fig.axes[0].title.get_fontfamily()[0] == "DejaVu Sans"

    fig = viz.plot_training_curves({"GRU": [1.0, 0.5, 0.25]}, baseline=0.2, title="adding problem, T = 20")
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("训练步", "损失")
    assert ax.get_title() == "adding problem, T = 20"  # a caller's own title is drawn as given
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["GRU", "基线"]
    assert legend.get_texts()[1].get_fontfamily()[0] == "DejaVu Sans"

    fig = viz.plot_grad_norms({"RNN": [0.1, 1.0]})
    assert (fig.axes[0].get_title(), fig.axes[0].get_ylabel()) == ("梯度消失", "梯度范数 ‖∂L/∂h_t‖")
    fig = viz.plot_memory_half_life((0.9,))
    assert fig.axes[0].get_xlabel() == "更新门 z" and fig.axes[0].texts[0].get_text() == "z = 0.9: k = 6.58"
    assert dict(matplotlib.rcParams) == before, "drawing a Chinese figure changes no global setting"


def test_chinese_diagrams_with_a_font(font):
    i18n.set_language("zh_CN")
    fig = diagrams.plot_reset_placements()
    titles = [a.get_title() for a in fig.axes]
    assert titles == ["GRU（门控循环单元），重置门在乘积之后", "GRU（门控循环单元），重置门在乘积之前"]
    drawn = texts(fig)
    assert "直连通路" in drawn and "更新门\n$z_t = \\sigma(\\cdot)$" in drawn
    assert any(t.startswith("虚线框：重置门在乘积之后") for t in drawn)
    assert "$h_{t-1}$" in drawn  # math stays
    fig.canvas.draw()  # mathtext still parses in the translated labels


def test_a_callers_own_graph_is_drawn_as_given_in_a_chinese_figure(font):
    i18n.set_language("zh_CN")
    fig, ax = plt.subplots()
    nodes = {"a": diagrams.Node(0, 0, "step 0\n(same W)"), "b": diagrams.Node(2, 0, "$h$ (h_prev)", "output")}
    diagrams.draw_graph(ax, nodes, (diagrams.Edge("a", "b", "$z$  (the direct path)"),))
    assert sorted(t.get_text() for t in ax.texts if t.get_text()) == sorted(
        ["step 0\n(same W)", "$h$ (h_prev)", "$z$  (the direct path)"])


def test_chinese_poem_figures_with_a_font(font):
    i18n.set_language("zh_CN")
    text = "床前明月光，"
    fig = poetry_viz.plot_gates_over_poem(gates(T=len(text)), text, marked={"z at marks": 1})
    assert [a.get_title() for a in fig.axes[:2]] == ["更新门 z", "重置门 r"]
    assert fig.axes[1].get_xlabel() == "每一步读入的字" and fig.axes[2].get_ylabel() == "门值"
    assert "z at marks（单元 1）" in texts(fig)
    fig = poetry_viz.plot_unit_traces(gates(T=len(text)), text, [("z at marks", "z", 1)])
    ax = fig.axes[0]
    assert ax.get_title() == "选出的单元在整首诗上的门值（灰线：读入标点处）"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["z at marks: z[1]"]
    assert ax.get_legend().get_texts()[0].get_fontsize() == 8


def test_chinese_notebook_without_a_font_gets_english_labels_and_one_hint(no_font):
    i18n.set_language("zh_CN")
    with pytest.warns(fonts.MissingCJKFontWarning) as record:
        fig = viz.plot_gate_heatmaps(gates())
        viz.plot_training_curves({"GRU": [1.0, 0.5]}, baseline=0.2)
        diagrams.plot_cell_comparison()
    hints = [w for w in record if issubclass(w.category, fonts.MissingCJKFontWarning)]
    assert len(hints) == 1, "the hint is given once"
    hint = str(hints[0].message)
    assert "sudo apt-get install fonts-noto-cjk" in hint and "conda install -c conda-forge font-ttf-noto-cjk" in hint
    assert "没有找到中文" in hint and "No CJK font found" in hint and "restart" in hint and "重启内核" in hint
    assert matplotlib.get_cachedir() in hint
    assert [a.get_title() for a in fig.axes[:2]] == ["reset gate r", "update gate z"]
    assert not any(has_chinese(t) for t in texts(fig))


# ----------------------------------------------------------------------------------------------------------------
# Self-check messages of the same modules
# ----------------------------------------------------------------------------------------------------------------

def test_gradient_check_failures_are_in_the_notebooks_language():
    analytic, numeric = np.array([1.0, 2.0]), np.array([1.0, 2.5])
    with pytest.raises(AssertionError) as english:
        gradcheck.check_gradient(analytic, numeric, name="dW")
    assert str(english.value).startswith("gradient check failed for dW: max relative error 0.111 > tol 1e-07")
    i18n.set_language("zh_CN")
    with pytest.raises(AssertionError) as chinese:
        gradcheck.check_gradient(analytic, numeric, name="dW")
    message = str(chinese.value)
    assert message.startswith("dW 的梯度检验未通过：最大相对误差 0.111 > tol 1e-07（2 个元素中有 1 个）")
    assert "索引 (1,)：解析值 2，数值 2.5，相对误差 0.111" in message
    with pytest.raises(ValueError, match="的 dtype 必须是 float64"):
        gradcheck.numerical_gradient(lambda v: v.sum(), np.zeros(2, dtype=np.float32))


def test_figure_argument_errors_are_in_the_notebooks_language():
    i18n.set_language("zh_CN")
    with pytest.raises(ValueError, match=r"是不是传入了候选隐状态 n（tanh）"):
        viz.plot_gate_heatmaps({"n": np.full((2, 2), -0.5)})
    with pytest.raises(ValueError, match=r"smooth 是以步数计的窗口长度"):
        viz.plot_training_curves({"a": [1.0]}, smooth=0)


def test_every_message_of_the_figure_modules_has_a_chinese_translation():
    from i18n import messages

    catalog = messages.extract(ROOT, "zh_CN")
    ours = [m.id for m in catalog if m.id and any(path.endswith(FIGURE_MODULES) for path, _ in m.locations)]
    assert len(ours) > 50
    gettext = i18n.translator("zh_CN")
    untranslated = [msgid for msgid in ours if gettext(msgid) == msgid]
    assert not untranslated, untranslated


def test_the_font_note_names_the_font_or_how_to_get_one_in_the_notebooks_language(monkeypatch):
    monkeypatch.setattr(fonts, "cjk_font", lambda: None)
    assert "sudo apt-get install fonts-noto-cjk" in fonts.font_note() and "CJK font" in fonts.font_note()
    i18n.set_language("zh_CN")
    try:
        assert fonts.font_note().startswith("图中使用的中文字体：无")
        monkeypatch.setattr(fonts, "cjk_font", lambda: "Noto Sans CJK SC")
        assert fonts.font_note() == "图中使用的中文字体：Noto Sans CJK SC"
    finally:
        i18n.set_language(None)
