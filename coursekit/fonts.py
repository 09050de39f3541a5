"""The language and the fonts of the figures' text (图中文字的语言和字体).

A figure speaks the notebook's language (:func:`coursekit.i18n.kernel_language`) when it can: Chinese labels need a
font with CJK glyphs, which many machines lack, and without one matplotlib draws every character as an empty box
and warns once per glyph. So :func:`figure_language` is Chinese only when the notebook is Chinese *and* a CJK font
is installed; otherwise the figures are English, and a Chinese notebook is told once, in Chinese and English, how to
get a font (:data:`INSTALL_HINT`).

- :func:`cjk_font`         the family name of an installed CJK font (looked up once), or None;
- :func:`figure_language`  "zh_CN" or "en", the language of the next figure;
- :func:`text_kw`          Text properties for that language: Chinese figures get the CJK font first and the usual
  Latin fonts after it; English ones keep the usual fonts and only add the CJK font as a fallback for the Chinese
  terms that English labels carry, e.g. "update gate z (更新门)";
- :func:`label`            a label (an N_-marked template or a :class:`~coursekit.i18n.Text`) in that language;
- :func:`font_note`        one line for a notebook's set-up output: which CJK font the figures use, or how to get one.

Fonts are passed to each Text as properties: nothing here changes matplotlib's rcParams, and importing this module
imports neither matplotlib nor anything else heavy.
"""

import functools
import re
import warnings
from typing import Optional

from coursekit import i18n

CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "Noto Serif CJK SC",
    "Noto Serif SC", "Source Han Serif SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback",
    "SimHei", "Microsoft YaHei", "PingFang SC", "Hiragino Sans GB", "Heiti SC", "STHeiti", "Songti SC", "SimSun",
    "Arial Unicode MS",
    # the same Noto/Source Han fonts named for another region: every character of the course is in them too
    "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Sans CJK KR", "Noto Sans CJK HK", "Source Han Sans",
)
"""Font families with the Chinese characters the figures use, the preferred first (Simplified Chinese forms)."""

INSTALL_HINT = (
    "没有找到中文（CJK）字体，所以图中的文字用英文显示。安装一个中文字体后重启内核即可：\n"
    "  Debian/Ubuntu：sudo apt-get install fonts-noto-cjk\n"
    "  conda：conda install -c conda-forge font-ttf-noto-cjk\n"
    "若重启后仍未生效，删除 matplotlib 的字体缓存（rm -rf {cache}）再重启内核。\n"
    "No CJK font found, so the figures are drawn with English labels. Install one, then restart the kernel:\n"
    "  Debian/Ubuntu: sudo apt-get install fonts-noto-cjk\n"
    "  conda: conda install -c conda-forge font-ttf-noto-cjk\n"
    "If it is still not used after the restart, delete matplotlib's font cache (rm -rf {cache}) and restart again."
)
"""What a Chinese notebook without a CJK font is told, once per kernel, in both languages ({cache}: matplotlib's
cache folder, whose font list is only rebuilt when it is missing)."""


class MissingCJKFontWarning(UserWarning):
    """The notebook is Chinese but no CJK font is installed: its figures are drawn in English."""


_warned = False
_CHINESE_IN_PARENTHESES = re.compile(r"\s*[(（][^()（）]*[\u3400-\u9fff][^()（）]*[)）]")


@functools.cache
def _find(families: tuple) -> Optional[str]:
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((family for family in families if family in installed), None)


def cjk_font() -> Optional[str]:
    """The family name of an installed font with CJK glyphs (the first of :data:`CJK_FAMILIES` that matplotlib
    knows), or None. Looked up once per process: a font installed later needs a kernel restart."""
    return _find(CJK_FAMILIES)


def cache_clear() -> None:
    """Forget the font found and whether the install hint was shown (for tests)."""
    global _warned
    _find.cache_clear()
    _warned = False


def install_hint() -> str:
    """:data:`INSTALL_HINT` with this machine's matplotlib cache folder."""
    import matplotlib

    return INSTALL_HINT.format(cache=matplotlib.get_cachedir())


def figure_language(language: Optional[str] = None) -> str:
    """The language figures are drawn in: ``language`` (default: the notebook's, ``kernel_language()``) when it is
    English or a CJK font is installed, else English, with a :class:`MissingCJKFontWarning` the first time that
    says how to install a font."""
    global _warned
    language = i18n.kernel_language() if language is None else i18n.normalize(language)
    if language == i18n.SOURCE or cjk_font() is not None:
        return language
    if not _warned:
        _warned = True
        warnings.warn(install_hint(), MissingCJKFontWarning, stacklevel=3)
    return i18n.SOURCE


def text_kw(language: str) -> dict:
    """Keyword arguments for matplotlib Text (``fontfamily``) that draw labels of ``language``.

    Chinese: the CJK font first, then the usual families (rcParams["font.family"]) for anything it lacks. English:
    the usual families, with the CJK font after them when one is installed (for Chinese terms in parentheses);
    ``{}`` when there is none, so that English figures are drawn exactly as matplotlib would.
    """
    import matplotlib

    cjk = cjk_font()
    if cjk is None:
        return {}
    usual = [family for family in matplotlib.rcParams["font.family"] if family != cjk]
    if i18n.normalize(language) == i18n.SOURCE:
        return {"fontfamily": [*usual, cjk]}
    return {"fontfamily": [cjk, *usual]}


def label(message: i18n.Message, language: str) -> str:
    """``message`` rendered in ``language`` for a figure. An English label drops its parenthesised Chinese terms
    when no CJK font can draw them: "update gate z (更新门)" -> "update gate z"."""
    if not isinstance(message, str):
        message = str(message)  # a curve or gate named by a number, say
    if not message:
        return message  # "" is the catalog's header, not a message
    text = i18n.render(message, language)
    if i18n.normalize(language) == i18n.SOURCE and cjk_font() is None:
        text = _CHINESE_IN_PARENTHESES.sub("", text)
    return text


def font_note() -> str:
    """The set-up line of a notebook that draws characters (08): the CJK font found, or how to install one, in
    the notebook's language."""
    family = cjk_font()
    if family is not None:
        return i18n.render(i18n.Text("CJK font for the figures: {family}", family=family))
    return i18n.render(i18n.Text("CJK font for the figures: none (characters are printed as text; Debian/Ubuntu: "
                                 "sudo apt-get install fonts-noto-cjk, conda: conda install -c conda-forge "
                                 "font-ttf-noto-cjk; then restart the kernel)"))
