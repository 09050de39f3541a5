"""coursekit.viz: each figure's structure (axes, lines, data, labels) and its input checks."""

import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from coursekit.viz import (  # noqa: E402
    plot_gate_heatmaps,
    plot_grad_norms,
    plot_memory_half_life,
    plot_repeated_multiplication,
    plot_training_curves,
)

# Without a CJK font installed, drawing Chinese labels warns about missing glyphs; that is not what is tested here.
pytestmark = pytest.mark.filterwarnings("ignore:Glyph .* missing from font")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(autouse=True)
def a_cjk_font(monkeypatch):
    """Stand in an installed font for the CJK font, so that labels keep their Chinese terms on any machine; the
    figures are English (the notebook's language is forgotten before and after)."""
    from coursekit import fonts, i18n

    monkeypatch.setattr(fonts, "cjk_font", lambda: "DejaVu Serif")
    i18n.set_language(None)
    yield
    i18n.set_language(None)


def draws(fig):
    fig.canvas.draw()  # the whole figure renders without error
    return True


def test_import_does_not_load_matplotlib():
    code = "import coursekit.viz, sys; assert 'matplotlib' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------------------------------------------------------
# Gate heatmaps
# ----------------------------------------------------------------------------------------------------------------

def gate_values(T=12, H=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (T, H))


def test_gate_heatmaps_one_panel_per_gate_plus_a_colour_bar():
    r, z = gate_values(seed=1), gate_values(seed=2)
    fig = plot_gate_heatmaps({"r": r, "z": z}, title="GRU gates")
    assert len(fig.axes) == 3
    panels = fig.axes[:2]
    assert panels[0].get_title() == "reset gate r (重置门)"
    assert panels[1].get_title() == "update gate z (更新门)"
    assert "时间步" in panels[1].get_xlabel() and "隐藏单元" in panels[0].get_ylabel()
    for panel, g in zip(panels, (r, z)):
        (image,) = panel.get_images()
        assert image.get_clim() == (0.0, 1.0)
        np.testing.assert_array_equal(image.get_array(), g.T)  # rows are hidden units, columns time steps
    assert draws(fig)


def test_gate_heatmaps_draw_into_given_axes_and_keep_unknown_names():
    fig, axes = plt.subplots(1, 2)
    returned = plot_gate_heatmaps({"f": gate_values(), "my gate": gate_values()}, ax=axes)
    assert returned is fig
    assert axes[0].get_title() == "forget gate f (遗忘门)" and axes[1].get_title() == "my gate"


@pytest.mark.parametrize(
    "gates, match",
    [
        ({}, "gates must be a non-empty dict"),
        ({"n": np.tanh(np.linspace(-3, 3, 12)).reshape(4, 3)}, r"must lie in \[0, 1\].*candidate n"),
        ({"z": np.full((4, 3), np.nan)}, "contains nan or inf"),
        ({"z": np.ones(4) * 0.5}, r"must be \(T, H\)"),
    ],
)
def test_gate_heatmaps_reject_bad_input(gates, match):
    with pytest.raises(ValueError, match=match):
        plot_gate_heatmaps(gates)


def test_gate_heatmaps_need_one_axes_per_gate():
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="one Axes per gate: 2 gates, 1 Axes"):
        plot_gate_heatmaps({"r": gate_values(), "z": gate_values()}, ax=ax)


# ----------------------------------------------------------------------------------------------------------------
# Gradient norms
# ----------------------------------------------------------------------------------------------------------------

def test_grad_norms_are_plotted_against_distance_on_a_log_axis():
    T = 30
    rnn = 0.5 ** np.arange(T)[::-1]  # ||dL/dh_t|| for t = 1..T: tiny far from the loss at step T
    gru = np.linspace(0.2, 1.0, T)
    fig = plot_grad_norms({"RNN": rnn, "GRU": gru})
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["RNN", "GRU"]
    assert ax.get_yscale() == "log"
    for line, norms in zip(lines, (rnn, gru)):
        x, y = line.get_data()
        np.testing.assert_array_equal(x, np.arange(T))
        for distance in (0, 7, T - 1):
            assert y[distance] == norms[T - 1 - distance]  # distance T - t for 1-based t
    assert "梯度范数" in ax.get_ylabel() and "T − t" in ax.get_xlabel()
    assert draws(fig)


def test_grad_norms_use_a_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    assert plot_grad_norms({"LSTM": [1.0, 2.0]}, ax=right) is fig
    assert len(right.get_lines()) == 1 and len(left.get_lines()) == 0


@pytest.mark.parametrize(
    "norms, match",
    [({}, "non-empty dict"), ({"RNN": [1.0, -0.5]}, "negative entries"), ({"RNN": [1.0, np.nan]}, "nan or inf"),
     ({"RNN": []}, "non-empty 1D"), ({"RNN": np.ones((2, 2))}, "non-empty 1D")],
)
def test_grad_norms_reject_bad_input(norms, match):
    with pytest.raises(ValueError, match=match):
        plot_grad_norms(norms)
    assert plt.get_fignums() == [], "no empty figure is left behind"


# ----------------------------------------------------------------------------------------------------------------
# Training curves
# ----------------------------------------------------------------------------------------------------------------

def test_training_curves_with_a_baseline():
    curves = {"GRU": [0.3, 0.2, 0.1, 0.05], "RNN": np.array([0.3, 0.25, 0.2, 0.18])}
    fig = plot_training_curves(curves, baseline=1 / 6)
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert len(lines) == 3
    np.testing.assert_array_equal(lines[0].get_ydata(), curves["GRU"])
    np.testing.assert_array_equal(lines[0].get_xdata(), np.arange(4))
    assert np.all(np.asarray(lines[2].get_ydata()) == 1 / 6)
    assert "损失" in ax.get_ylabel()
    assert draws(fig)


def test_training_curves_without_baseline_have_one_line_per_curve():
    fig = plot_training_curves({"a": [1.0, 0.5], "b": [2.0, 1.0], "c": [3.0, 1.0]}, logy=True)
    assert len(fig.axes[0].get_lines()) == 3 and fig.axes[0].get_yscale() == "log"


def test_training_curves_smoothing_is_a_trailing_moving_average():
    losses = np.random.default_rng(0).uniform(0, 1, 20)
    fig = plot_training_curves({"run": losses}, smooth=4)
    x, y = fig.axes[0].get_lines()[0].get_data()
    np.testing.assert_array_equal(x, np.arange(3, 20))
    expected = [sum(losses[k - 3:k + 1]) / 4 for k in range(3, 20)]
    np.testing.assert_allclose(y, expected, rtol=1e-12)


@pytest.mark.parametrize(
    "curves, kwargs, match",
    [({}, {}, "non-empty dict"), ({"a": [1.0, 2.0]}, {"smooth": 5}, "fewer than smooth=5"),
     ({"a": [1.0]}, {"smooth": 0}, "smooth is a window length"), ({"a": [1.0, np.inf]}, {}, "did training diverge")],
)
def test_training_curves_reject_bad_input(curves, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_training_curves(curves, **kwargs)


# ----------------------------------------------------------------------------------------------------------------
# Repeated multiplication and memory half-life
# ----------------------------------------------------------------------------------------------------------------

def test_repeated_multiplication_plots_powers_of_each_factor():
    fig = plot_repeated_multiplication((0.9, 1.0, 1.1), steps=40)
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert len(lines) == 3 and ax.get_yscale() == "log"
    for line, w in zip(lines, (0.9, 1.0, 1.1)):
        product, expected = 1.0, []
        for _ in range(41):  # k = 0..40 by repeated multiplication, independent of w**k
            expected.append(product)
            product *= w
        np.testing.assert_allclose(line.get_ydata(), expected, rtol=1e-12)
        assert line.get_label() == f"w = {w:g}"
    assert draws(fig)


@pytest.mark.parametrize("kwargs, match", [(dict(factors=()), "non-empty"), (dict(factors=(0.9, -1.1)), "> 0"),
                                           (dict(steps=0), "steps must be an integer >= 1")])
def test_repeated_multiplication_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_repeated_multiplication(**kwargs)


def test_memory_half_life_curve_and_marks_halve_the_memory():
    fig = plot_memory_half_life((0.5, 0.9, 0.99))
    (ax,) = fig.axes
    curve, marks = ax.get_lines()
    z, k = curve.get_data()
    assert np.all((z > 0) & (z < 1)) and ax.get_yscale() == "log"
    np.testing.assert_allclose(z**k, 0.5, rtol=1e-10)  # after k steps a fraction z**k = 1/2 is left
    np.testing.assert_array_equal(marks.get_xdata(), [0.5, 0.9, 0.99])
    np.testing.assert_allclose(np.array([0.5, 0.9, 0.99]) ** marks.get_ydata(), 0.5, rtol=1e-10)
    assert marks.get_ydata()[0] == pytest.approx(1.0)  # z = 0.5 halves in exactly one step
    assert "更新门" in ax.get_xlabel()
    assert len(ax.texts) == 3
    assert draws(fig)


def test_memory_half_life_without_marks_draws_only_the_curve():
    fig = plot_memory_half_life(())
    assert len(fig.axes[0].get_lines()) == 1


@pytest.mark.parametrize("z_marks", [(0.0,), (0.5, 1.0), (1.5,)])
def test_memory_half_life_rejects_z_outside_the_open_unit_interval(z_marks):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        plot_memory_half_life(z_marks)


def test_an_installed_cjk_font_is_added_as_a_fallback():
    fig = plot_training_curves({"GRU": [1.0, 0.5]}, baseline=0.7)
    ax = fig.axes[0]
    assert "DejaVu Serif" in ax.yaxis.label.get_fontfamily()
    assert "DejaVu Serif" in ax.get_legend().get_texts()[0].get_fontfamily()
    assert draws(fig)


def test_without_a_cjk_font_the_chinese_terms_are_left_out(monkeypatch):
    from coursekit import fonts

    monkeypatch.setattr(fonts, "cjk_font", lambda: None)
    fig = plot_memory_half_life([0.9])
    ax = fig.axes[0]
    assert ax.get_xlabel() == "update gate z" and "半衰期" not in ax.get_title()
    fig = plot_gate_heatmaps({"z": np.full((3, 2), 0.5)})
    assert all(not any("\u4e00" <= ch <= "\u9fff" for ch in a.get_title()) for a in fig.axes)
