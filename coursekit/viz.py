"""The figures the notebooks draw. matplotlib is imported inside each function, not at ``import coursekit.viz``.

Every function returns the matplotlib Figure and accepts ``ax=`` to draw into existing axes. In a notebook, write
``fig = plot_...(...)`` (or end the line with ``;``) so that the figure is shown once, not twice.

- :func:`plot_repeated_multiplication`  notebook 06: why plain RNNs forget, w**k against k
- :func:`plot_memory_half_life`         notebook 06: how long an update gate z keeps a memory
- :func:`plot_gate_heatmaps`            notebook 04: gate activations over time
- :func:`plot_grad_norms`               notebook 06: gradient norm against distance T - t, RNN vs LSTM vs GRU
- :func:`plot_training_curves`          notebooks 04-07: loss against training step, with an optional baseline

Chinese terms in labels need a CJK font (e.g. Noto Sans CJK, Debian package fonts-noto-cjk); when one is installed
it is used as a fallback for those labels. Without one, the Chinese part of a label, e.g. " (更新门)", is left out,
rather than drawn as empty boxes with a warning per missing glyph.
"""

import functools
import re

import numpy as np

GATE_LABELS = {
    "r": "reset gate r (重置门)",
    "z": "update gate z (更新门)",
    "i": "input gate i (输入门)",
    "f": "forget gate f (遗忘门)",
    "o": "output gate o (输出门)",
}
_CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei",
              "Microsoft YaHei", "PingFang SC", "Heiti SC", "Arial Unicode MS")


# ----------------------------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------------------------

@functools.cache
def _cjk_text_kw():
    """Text keyword arguments that add an installed CJK font as a per-glyph fallback ({} when there is none)."""
    import matplotlib
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    cjk = [name for name in _CJK_FONTS if name in installed]
    return {"fontfamily": [*matplotlib.rcParams["font.family"], *cjk]} if cjk else {}


_CHINESE_IN_PARENTHESES = re.compile(r"\s*\([^()]*[\u4e00-\u9fff][^()]*\)")


def _text(text):
    """The label as given when a CJK font is installed, else without its parenthesised Chinese terms."""
    return text if _cjk_text_kw() else _CHINESE_IN_PARENTHESES.sub("", text)


def _label(ax, *, title=None, xlabel=None, ylabel=None):
    kw = _cjk_text_kw()
    if title is not None:
        ax.set_title(_text(title), **kw)
    if xlabel is not None:
        ax.set_xlabel(_text(xlabel), **kw)
    if ylabel is not None:
        ax.set_ylabel(_text(ylabel), **kw)


def _legend(ax):
    kw = _cjk_text_kw()
    legend = ax.legend(prop={"family": kw["fontfamily"]} if kw else None)
    for text in legend.get_texts():
        text.set_text(_text(text.get_text()))


def _figure_and_ax(ax, figsize=(6, 4)):
    import matplotlib.pyplot as plt

    if ax is None:
        return plt.subplots(figsize=figsize)
    return ax.figure, ax


def _check_dict(name, mapping, what):
    if not isinstance(mapping, dict) or not mapping:
        raise ValueError(f"{name} must be a non-empty dict {{name: {what}}}, got {mapping!r:.80}")


def _as_curve(name, key, values):
    """A 1D finite float array, or ValueError naming which entry is wrong."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{name}[{key!r}] must be a non-empty 1D sequence, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name}[{key!r}] contains nan or inf (did training diverge?)")
    return values


def _check_gates(gates):
    """{name: (T, H) array in [0, 1]} as float arrays, or ValueError naming the gate and one likely mistake."""
    _check_dict("gates", gates, "(T, H) array")
    arrays = {}
    for name, g in gates.items():
        g = np.asarray(g, dtype=np.float64)
        if g.ndim != 2:
            raise ValueError(f"gates[{name!r}] must be (T, H), got shape {g.shape}")
        if not np.all(np.isfinite(g)):
            raise ValueError(f"gates[{name!r}] contains nan or inf")
        if g.min() < 0.0 or g.max() > 1.0:
            raise ValueError(f"gates[{name!r}] must lie in [0, 1] (sigmoid outputs); got values in "
                             f"[{g.min():.3g}, {g.max():.3g}]. Did you pass the candidate n (tanh)?")
        arrays[name] = g
    return arrays


def _half_life(z):
    """Steps k after which a fraction z**k = 1/2 of a memory is left: k = ln 0.5 / ln z."""
    return np.log(0.5) / np.log(z)


# ----------------------------------------------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------------------------------------------

def plot_gate_heatmaps(gates, *, ax=None, title=None):
    """Heatmaps of gate activations over time, one panel per gate, sharing a 0..1 colour scale.

    gates: {name: (T, H) array of sigmoid outputs in [0, 1]}, e.g. {"r": r, "z": z}; the names r, z (GRU) and
    i, f, o (LSTM) get bilingual titles such as "update gate z (更新门)", other names are used as given.
    ax: optional sequence of Axes, one per gate. A shared colour bar is added, so the figure gets one more Axes.
    """
    import matplotlib.pyplot as plt

    arrays = _check_gates(gates)
    if ax is None:
        fig, axes = plt.subplots(len(arrays), 1, figsize=(7, 2.2 * len(arrays) + 0.6), sharex=True, squeeze=False)
        axes = list(axes[:, 0])
    else:
        axes = list(np.atleast_1d(ax))
        if len(axes) != len(arrays):
            raise ValueError(f"ax must hold one Axes per gate: {len(arrays)} gates, {len(axes)} Axes")
        fig = axes[0].figure
    for a, (name, g) in zip(axes, arrays.items()):
        image = a.imshow(g.T, aspect="auto", origin="lower", vmin=0.0, vmax=1.0, cmap="viridis",
                         interpolation="nearest")
        _label(a, title=GATE_LABELS.get(name, name), ylabel="hidden unit (隐藏单元)")
    _label(axes[-1], xlabel="time step t (时间步)")
    colorbar = fig.colorbar(image, ax=axes)
    colorbar.set_label(_text("activation (激活值)"), **_cjk_text_kw())
    if title is not None:
        fig.suptitle(_text(title), **_cjk_text_kw())
    return fig


def plot_grad_norms(norms_by_model, *, ax=None, title="vanishing gradients (梯度消失)"):
    """Gradient norm against how far back it travelled, one line per model, on a log y-axis.

    norms_by_model: {model name: 1D array of length T} where entry t - 1 is ||dL/dh_t|| for t = 1..T and the loss
    is computed at step T. The x-axis is the distance T - t (0 at the last step), so a plain RNN's line falls
    steeply while LSTM and GRU lines stay flatter. Zeros (underflow) are left out by the log axis.
    """
    _check_dict("norms_by_model", norms_by_model, "1D array of gradient norms")
    curves = {name: _as_curve("norms_by_model", name, norms) for name, norms in norms_by_model.items()}
    for name, norms in curves.items():
        if norms.min() < 0:
            raise ValueError(f"norms_by_model[{name!r}] has negative entries; norms are >= 0 (pass the norms, "
                             f"not the gradients)")
    fig, ax = _figure_and_ax(ax)
    for name, norms in curves.items():
        ax.plot(np.arange(norms.size), norms[::-1], label=name)  # reversed: index i is distance i
    ax.set_yscale("log")
    _label(ax, title=title, xlabel="distance T − t in time steps (时间步距离)",
           ylabel="gradient norm ‖∂L/∂h_t‖ (梯度范数)")
    _legend(ax)
    return fig


def plot_training_curves(curves, *, ax=None, baseline=None, baseline_label="baseline (基线)", smooth=1,
                         logy=False, title=None):
    """Training loss against step, one line per run, with an optional horizontal baseline.

    curves: {name: per-step losses}, e.g. the lists returned by ``coursekit.train.train_regression``.
    baseline: e.g. ``coursekit.tasks.ADDING_BASELINE_MSE``; a model stuck on it has learned nothing about the task.
    smooth: moving-average window in steps (1 = raw); the point at step k averages steps k - smooth + 1 .. k.
    """
    _check_dict("curves", curves, "list of losses")
    if isinstance(smooth, bool) or not isinstance(smooth, (int, np.integer)) or smooth < 1:
        raise ValueError(f"smooth is a window length in steps and must be an integer >= 1, got {smooth!r}")
    curves = {name: _as_curve("curves", name, losses) for name, losses in curves.items()}
    for name, losses in curves.items():
        if losses.size < smooth:
            raise ValueError(f"curves[{name!r}] has {losses.size} steps, fewer than smooth={smooth}")
    fig, ax = _figure_and_ax(ax)
    for name, losses in curves.items():
        averaged = np.convolve(losses, np.ones(smooth) / smooth, mode="valid")
        ax.plot(np.arange(smooth - 1, losses.size), averaged, label=name)
    if baseline is not None:
        ax.axhline(float(baseline), color="gray", linestyle="--", label=baseline_label)
    if logy:
        ax.set_yscale("log")
    _label(ax, title=title, xlabel="training step (训练步)", ylabel="loss (损失)")
    _legend(ax)
    return fig


def plot_repeated_multiplication(factors=(0.9, 1.0, 1.1), steps=50, *, ax=None):
    """w**k against k on a log y-axis: a signal (or gradient) multiplied by the same w at every step.

    This is a plain RNN's memory in one dimension: |w| < 1 shrinks it geometrically (vanishing, 梯度消失),
    |w| > 1 blows it up (exploding, 梯度爆炸), and only w = 1 keeps it. Factors must be > 0 (log axis).
    """
    factors = np.atleast_1d(np.asarray(factors, dtype=np.float64))
    if factors.size == 0 or not np.all(factors > 0):
        raise ValueError(f"factors must be a non-empty list of numbers > 0, got {factors.tolist()}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    fig, ax = _figure_and_ax(ax)
    k = np.arange(steps + 1)
    for w in factors:
        ax.plot(k, w**k, label=f"w = {w:g}")
    ax.set_yscale("log")
    _label(ax, title="why plain RNNs forget: w^k (连乘)", xlabel="steps k (时间步)", ylabel="w^k")
    _legend(ax)
    return fig


def plot_memory_half_life(z_marks=(0.5, 0.9, 0.99), *, ax=None):
    """Memory half-life k = ln 0.5 / ln z against the update gate value z in (0, 1), on a log y-axis.

    With PyTorch's h' = (1 - z) * n + z * h, a unit whose update gate (更新门) stays at z keeps a fraction z**k of
    what it held k steps ago, so half of it is gone after k = ln 0.5 / ln z steps (z = 0.99 keeps it ~69 steps).
    z_marks: z values to mark and annotate on the curve (may be empty).
    """
    z_marks = np.atleast_1d(np.asarray(z_marks, dtype=np.float64))
    if not np.all((z_marks > 0) & (z_marks < 1)):
        raise ValueError(f"z_marks must lie strictly between 0 and 1, got {z_marks.tolist()}")
    fig, ax = _figure_and_ax(ax)
    z = np.linspace(0.01, 0.999, 500)
    ax.plot(z, _half_life(z), label="k = ln 0.5 / ln z")
    if z_marks.size:
        ax.plot(z_marks, _half_life(z_marks), "o", label="marked z")
        for zm, k in zip(z_marks, _half_life(z_marks)):
            ax.annotate(f"z = {zm:g}: k = {k:.3g}", (zm, k), textcoords="offset points", xytext=(-10, 8),
                        ha="right")
    ax.set_yscale("log")
    _label(ax, title="memory half-life of the update gate (记忆半衰期)", xlabel="update gate z (更新门)",
           ylabel="half-life k in steps (半衰期)")
    _legend(ax)
    return fig
