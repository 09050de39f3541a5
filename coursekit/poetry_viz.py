"""The figures of notebook 08 whose axes carry Chinese characters: gate heat maps under a poem, perplexity curves.

Characters need a CJK font (Debian/Ubuntu: ``sudo apt-get install fonts-noto-cjk``; conda: ``conda install -c
conda-forge font-ttf-noto-cjk``; then restart the kernel). Without one, the x-axis shows the step numbers and
:func:`character_legend` gives the text to print next to the figure, so the figure stays readable and matplotlib
does not warn once per missing glyph. The font lookup and the language of the labels are :mod:`coursekit.fonts`'s,
so all figures of the course agree on them.
"""

import numpy as np

from coursekit import fonts, viz
from coursekit.i18n import N_, Text


def cjk_font_available():
    """True when matplotlib has a CJK font it can draw the poems' characters with."""
    return fonts.cjk_font() is not None


def character_legend(text, per_line=12):
    """"0:床 1:前 ..." lines for the x-axis steps of a figure drawn without a CJK font."""
    pairs = [f"{t}:{c}" for t, c in enumerate(text)]
    return "\n".join(" ".join(pairs[i:i + per_line]) for i in range(0, len(pairs), per_line))


def _character_axis(ax, text):
    ax.set_xticks(np.arange(len(text)))
    if cjk_font_available():
        ax.set_xticklabels(list(text), **fonts.text_kw("zh_CN"))
    else:
        ax.set_xticklabels([str(t) for t in range(len(text))], fontsize=7)


def plot_gates_over_poem(gates, text, *, units=None, marked=None, title=None):
    """Heat maps of the update gate z and the reset gate r (T, H) over a poem, the characters under the x-axis.

    gates: {"z": (T, H), "r": (T, H)} as :func:`coursekit.verse.gru_gates` returns, text: the T characters read.
    units: the rows to show, in this order (default: all units, sorted by their mean z). marked: {label: unit}
    units to point at on the y-axis (e.g. the ones that react at punctuation). Returns the Figure.
    Labels are drawn in :func:`coursekit.fonts.figure_language`; title and the marked labels may be Texts.
    """
    import matplotlib.pyplot as plt

    if len(text) != gates["z"].shape[0]:
        raise ValueError(Text("text has {characters} characters but the gates {steps} steps",
                              characters=len(text), steps=gates["z"].shape[0]).render())
    language = fonts.figure_language()
    kw = fonts.text_kw(language)
    units = np.argsort(gates["z"].mean(axis=0)) if units is None else np.asarray(units)
    fig, axes = plt.subplots(2, 1, figsize=(min(16, 1.5 + 0.28 * len(text)), 7.5), sharex=True)
    for ax, name in zip(axes, ("z", "r")):
        image = ax.imshow(gates[name][:, units].T, aspect="auto", vmin=0, vmax=1, cmap="viridis",
                          interpolation="nearest")
        viz._label(ax, language, title=viz.GATE_LABELS[name], ylabel=N_("hidden unit (隐藏单元)"))
        ax.set_yticks([])
        for label, unit in (marked or {}).items():
            row = int(np.flatnonzero(units == unit)[0])
            pointer = Text("{label} (unit {unit})", label=fonts.label(label, language), unit=unit)
            ax.annotate(fonts.label(pointer, language), xy=(-0.5, row), xytext=(-0.02, row),
                        textcoords=("axes fraction", "data"), ha="right", va="center", fontsize=8,
                        arrowprops={"arrowstyle": "->"}, **kw)
    _character_axis(axes[-1], text)
    viz._label(axes[-1], language, xlabel=N_("character read at each step (每一步读入的字)") if cjk_font_available()
               else N_("step (the characters are printed below the figure)"))
    colorbar = fig.colorbar(image, ax=list(axes))
    colorbar.set_label(fonts.label(N_("gate value (门值)"), language), **kw)
    if title is not None:
        fig.suptitle(fonts.label(title, language), **kw)
    return fig


def plot_unit_traces(gates, text, units, *, ax=None):
    """One line per (label, gate name, unit) in ``units`` over the poem, e.g. [("z at marks", "z", 17)]; the labels
    may be Texts, drawn in :func:`coursekit.fonts.figure_language`."""
    language = fonts.figure_language()
    fig, ax = viz._figure_and_ax(ax, figsize=(min(16, 1.5 + 0.28 * len(text)), 3.2))
    for label, name, unit in units:
        ax.plot(gates[name][:, unit], marker="o", markersize=3,
                label=f"{fonts.label(label, language)}: {name}[{unit}]")
    for t, char in enumerate(text):
        if char in "，。？！；：、":
            ax.axvline(t, color="gray", alpha=0.25)
    _character_axis(ax, text)
    ax.set_ylim(-0.02, 1.02)
    viz._label(ax, language, ylabel=N_("gate value (门值)"),
               title=N_("the picked units over the poem (grey: punctuation read)"))
    viz._legend(ax, language, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig
