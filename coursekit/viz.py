"""The figures the notebooks draw. matplotlib is imported inside each function, not at ``import coursekit.viz``.

Every function returns the matplotlib Figure and accepts ``ax=`` to draw into existing axes. In a notebook, write
``fig = plot_...(...)`` (or end the line with ``;``) so that the figure is shown once, not twice.

- :func:`plot_repeated_multiplication`  notebook 06: why plain RNNs forget, w**k against k
- :func:`plot_memory_half_life`         notebook 06: how long an update gate z keeps a memory
- :func:`plot_gate_heatmaps`            notebook 04: gate activations over time
- :func:`plot_grad_norms`               notebook 06: gradient norm against distance T - t, RNN vs LSTM vs GRU
- :func:`plot_training_curves`          notebooks 04-07: loss against training step, with an optional baseline

Labels are drawn in the notebook's language when a font can draw it (:mod:`coursekit.fonts`): a Chinese notebook
with a CJK font (Debian/Ubuntu: fonts-noto-cjk; conda-forge: font-ttf-noto-cjk) gets Chinese labels, one without
gets English labels and, once, a warning saying how to install a font. English labels carry Chinese terms, e.g.
"update gate z (更新门)", drawn with the CJK font as a fallback when one is installed and left out otherwise, rather
than drawn as empty boxes with a warning per missing glyph. Math and variable names (h_t, z, T − t) stay as they are.
"""

import numpy as np

from coursekit import fonts
from coursekit.i18n import N_, Text, kernel_language

GATE_LABELS = {
    "r": N_("reset gate r (重置门)"),
    "z": N_("update gate z (更新门)"),
    "i": N_("input gate i (输入门)"),
    "f": N_("forget gate f (遗忘门)"),
    "o": N_("output gate o (输出门)"),
}


# ----------------------------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------------------------

def _label(ax, language, *, title=None, xlabel=None, ylabel=None):
    """Set the title and axis labels (N_-marked templates, Texts, or a caller's plain strings) in ``language``."""
    kw = fonts.text_kw(language)
    if title is not None:
        ax.set_title(fonts.label(title, language), **kw)
    if xlabel is not None:
        ax.set_xlabel(fonts.label(xlabel, language), **kw)
    if ylabel is not None:
        ax.set_ylabel(fonts.label(ylabel, language), **kw)


def _legend(ax, language, **kwargs):
    """A legend whose entries (the lines' labels, already in ``language``) are drawn with its fonts."""
    family = fonts.text_kw(language).get("fontfamily")
    if family:  # with prop, matplotlib ignores fontsize=: it goes into prop
        kwargs["prop"] = {"family": family, **({"size": kwargs.pop("fontsize")} if "fontsize" in kwargs else {})}
    return ax.legend(**kwargs)


def _error(message):
    """A ValueError saying ``message`` (a Text) in the notebook's language."""
    return ValueError(message.render(kernel_language()))


def _figure_and_ax(ax, figsize=(6, 4)):
    import matplotlib.pyplot as plt

    if ax is None:
        return plt.subplots(figsize=figsize)
    return ax.figure, ax


def _check_dict(name, mapping, what):
    if not isinstance(mapping, dict) or not mapping:
        raise _error(Text("{name} must be a non-empty dict {{name: {what}}}, got {mapping!r:.80}", name=name,
                          what=what, mapping=mapping))


def _as_curve(name, key, values):
    """A 1D finite float array, or ValueError naming which entry is wrong."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise _error(Text("{name}[{key!r}] must be a non-empty 1D sequence, got shape {shape}", name=name, key=key,
                          shape=values.shape))
    if not np.all(np.isfinite(values)):
        raise _error(Text("{name}[{key!r}] contains nan or inf (did training diverge?)", name=name, key=key))
    return values


def _check_gates(gates):
    """{name: (T, H) array in [0, 1]} as float arrays, or ValueError naming the gate and one likely mistake."""
    _check_dict("gates", gates, Text("(T, H) array"))
    arrays = {}
    for name, g in gates.items():
        g = np.asarray(g, dtype=np.float64)
        if g.ndim != 2:
            raise _error(Text("gates[{name!r}] must be (T, H), got shape {shape}", name=name, shape=g.shape))
        if not np.all(np.isfinite(g)):
            raise _error(Text("gates[{name!r}] contains nan or inf", name=name))
        if g.min() < 0.0 or g.max() > 1.0:
            raise _error(Text("gates[{name!r}] must lie in [0, 1] (sigmoid outputs); got values in "
                              "[{low:.3g}, {high:.3g}]. Did you pass the candidate n (tanh)?", name=name,
                              low=g.min(), high=g.max()))
        arrays[name] = g
    return arrays


def _half_life(z):
    """Steps k after which a fraction z**k = 1/2 of a memory is left: k = ln 0.5 / ln z."""
    return np.log(0.5) / np.log(z)


def _positive_int(value):
    return not isinstance(value, bool) and isinstance(value, (int, np.integer)) and value >= 1


# ----------------------------------------------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------------------------------------------

def plot_gate_heatmaps(gates, *, ax=None, title=None):
    """Heatmaps of gate activations over time, one panel per gate, sharing a 0..1 colour scale.

    gates: {name: (T, H) array of sigmoid outputs in [0, 1]}, e.g. {"r": r, "z": z}; the names r, z (GRU) and
    i, f, o (LSTM) get titles such as "update gate z (更新门)" (Chinese figures: "更新门 z"), other names are used as
    given.
    ax: optional sequence of Axes, one per gate. A shared colour bar is added, so the figure gets one more Axes.
    """
    import matplotlib.pyplot as plt

    arrays = _check_gates(gates)
    if ax is not None:
        axes = list(np.atleast_1d(ax))
        if len(axes) != len(arrays):
            raise _error(Text("ax must hold one Axes per gate: {gates} gates, {axes} Axes", gates=len(arrays),
                              axes=len(axes)))
    language = fonts.figure_language()
    if ax is None:
        fig, axes = plt.subplots(len(arrays), 1, figsize=(7, 2.2 * len(arrays) + 0.6), sharex=True, squeeze=False)
        axes = list(axes[:, 0])
    else:
        fig = axes[0].figure
    for a, (name, g) in zip(axes, arrays.items()):
        image = a.imshow(g.T, aspect="auto", origin="lower", vmin=0.0, vmax=1.0, cmap="viridis",
                         interpolation="nearest")
        _label(a, language, title=GATE_LABELS.get(name, str(name)), ylabel=N_("hidden unit (隐藏单元)"))
    _label(axes[-1], language, xlabel=N_("time step t (时间步)"))
    colorbar = fig.colorbar(image, ax=axes)
    colorbar.set_label(fonts.label(N_("activation (激活值)"), language), **fonts.text_kw(language))
    if title is not None:
        fig.suptitle(fonts.label(title, language), **fonts.text_kw(language))
    return fig


def plot_grad_norms(norms_by_model, *, ax=None, title=N_("vanishing gradients (梯度消失)")):
    """Gradient norm against how far back it travelled, one line per model, on a log y-axis.

    norms_by_model: {model name: 1D array of length T} where entry t - 1 is ||dL/dh_t|| for t = 1..T and the loss
    is computed at step T. The x-axis is the distance T - t (0 at the last step), so a plain RNN's line falls
    steeply while LSTM and GRU lines stay flatter. Zeros (underflow) are left out by the log axis.
    """
    _check_dict("norms_by_model", norms_by_model, Text("1D array of gradient norms"))
    curves = {name: _as_curve("norms_by_model", name, norms) for name, norms in norms_by_model.items()}
    for name, norms in curves.items():
        if norms.min() < 0:
            raise _error(Text("norms_by_model[{name!r}] has negative entries; norms are >= 0 (pass the norms, "
                              "not the gradients)", name=name))
    language = fonts.figure_language()
    fig, ax = _figure_and_ax(ax)
    for name, norms in curves.items():  # reversed: index i is distance i
        ax.plot(np.arange(norms.size), norms[::-1], label=fonts.label(str(name), language))
    ax.set_yscale("log")
    _label(ax, language, title=title, xlabel=N_("distance T − t in time steps (时间步距离)"),
           ylabel=N_("gradient norm ‖∂L/∂h_t‖ (梯度范数)"))
    _legend(ax, language)
    return fig


def plot_training_curves(curves, *, ax=None, baseline=None, baseline_label=N_("baseline (基线)"), smooth=1,
                         logy=False, title=None):
    """Training loss against step, one line per run, with an optional horizontal baseline.

    curves: {name: per-step losses}, e.g. the lists returned by ``coursekit.train.train_regression``.
    baseline: e.g. ``coursekit.tasks.ADDING_BASELINE_MSE``; a model stuck on it has learned nothing about the task.
    smooth: moving-average window in steps (1 = raw); the point at step k averages steps k - smooth + 1 .. k.
    Curve names, baseline_label and title may be Texts (or N_-marked templates): they are drawn in the figure's
    language.
    """
    _check_dict("curves", curves, Text("list of losses"))
    if not _positive_int(smooth):
        raise _error(Text("smooth is a window length in steps and must be an integer >= 1, got {smooth!r}",
                          smooth=smooth))
    curves = {name: _as_curve("curves", name, losses) for name, losses in curves.items()}
    for name, losses in curves.items():
        if losses.size < smooth:
            raise _error(Text("curves[{name!r}] has {steps} steps, fewer than smooth={smooth}", name=name,
                              steps=losses.size, smooth=smooth))
    language = fonts.figure_language()
    fig, ax = _figure_and_ax(ax)
    for name, losses in curves.items():
        averaged = np.convolve(losses, np.ones(smooth) / smooth, mode="valid")
        ax.plot(np.arange(smooth - 1, losses.size), averaged, label=fonts.label(str(name), language))
    if baseline is not None:
        ax.axhline(float(baseline), color="gray", linestyle="--", label=fonts.label(baseline_label, language))
    if logy:
        ax.set_yscale("log")
    _label(ax, language, title=title, xlabel=N_("training step (训练步)"), ylabel=N_("loss (损失)"))
    _legend(ax, language)
    return fig


def plot_repeated_multiplication(factors=(0.9, 1.0, 1.1), steps=50, *, ax=None):
    """w**k against k on a log y-axis: a signal (or gradient) multiplied by the same w at every step.

    This is a plain RNN's memory in one dimension: |w| < 1 shrinks it geometrically (vanishing, 梯度消失),
    |w| > 1 blows it up (exploding, 梯度爆炸), and only w = 1 keeps it. Factors must be > 0 (log axis).
    """
    factors = np.atleast_1d(np.asarray(factors, dtype=np.float64))
    if factors.size == 0 or not np.all(factors > 0):
        raise _error(Text("factors must be a non-empty list of numbers > 0, got {factors}",
                          factors=factors.tolist()))
    if not _positive_int(steps):
        raise _error(Text("steps must be an integer >= 1, got {steps!r}", steps=steps))
    language = fonts.figure_language()
    fig, ax = _figure_and_ax(ax)
    k = np.arange(steps + 1)
    for w in factors:
        ax.plot(k, w**k, label=f"w = {w:g}")
    ax.set_yscale("log")
    _label(ax, language, title=N_("why plain RNNs forget: w^k (连乘)"), xlabel=N_("steps k (时间步)"), ylabel="w^k")
    _legend(ax, language)
    return fig


def plot_memory_half_life(z_marks=(0.5, 0.9, 0.99), *, ax=None):
    """Memory half-life k = ln 0.5 / ln z against the update gate value z in (0, 1), on a log y-axis.

    With PyTorch's h' = (1 - z) * n + z * h, a unit whose update gate (更新门) stays at z keeps a fraction z**k of
    what it held k steps ago, so half of it is gone after k = ln 0.5 / ln z steps (z = 0.99 keeps it ~69 steps).
    z_marks: z values to mark and annotate on the curve (may be empty).
    """
    z_marks = np.atleast_1d(np.asarray(z_marks, dtype=np.float64))
    if not np.all((z_marks > 0) & (z_marks < 1)):
        raise _error(Text("z_marks must lie strictly between 0 and 1, got {z_marks}", z_marks=z_marks.tolist()))
    language = fonts.figure_language()
    fig, ax = _figure_and_ax(ax)
    z = np.linspace(0.01, 0.999, 500)
    ax.plot(z, _half_life(z), label="k = ln 0.5 / ln z")
    if z_marks.size:
        ax.plot(z_marks, _half_life(z_marks), "o", label=fonts.label(N_("marked z"), language))
        for zm, k in zip(z_marks, _half_life(z_marks)):
            ax.annotate(f"z = {zm:g}: k = {k:.3g}", (zm, k), textcoords="offset points", xytext=(-10, 8),
                        ha="right")
    ax.set_yscale("log")
    _label(ax, language, title=N_("memory half-life of the update gate (记忆半衰期)"),
           xlabel=N_("update gate z (更新门)"), ylabel=N_("half-life k in steps (半衰期)"))
    _legend(ax, language)
    return fig
