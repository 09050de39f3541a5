"""The language of learner-visible messages, taken from the notebook, never from the machine's locale.

A translated notebook says its language in its metadata, ``{"coursekit": {"language": "zh_CN"}}`` (written by
``python -m i18n build``); the English notebooks have no such key and mean English. (``metadata.language_info`` is
the programming language, Python, so it cannot say this.) A learner on an English system opening course-zh/ gets
Chinese messages; one on a Chinese system opening course/ gets English ones.

Where the language is known:

- **in the grader**, from the submission: ``notebook_language(submission.metadata)``. The grader judges and
  writes its feedback in that language (``render(message, language)``) and tells the full-run kernel with
  ``set_language(language)`` before any learner code, since the kernel cannot see the notebook (a clean room
  holds no catalog: its outputs are data, judged and worded on the grader's side);
- **in a learner's kernel** (JupyterLab), from the notebook the kernel was started for: jupyter_server puts its
  path in the kernel's environment as ``JPY_SESSION_NAME``; ``kernel_language()`` reads that notebook's metadata.

Messages are English in the source and translated where they are shown, with gettext. A check builds a
:class:`Text`, a template and its values (``Text("{target}: all {total} cases pass.", target=..., total=...)``),
and renders it only once the language is known (:func:`render`): the catalog entry is the template and the numbers
stay numbers. A Text is a str whose value is its English, so code and tests that compare English are unchanged.
A template that is only defined (a table of causes) is marked with :func:`N_`. ``python -m i18n messages``
extracts both kinds of mark; the compiled catalogs are ``coursekit/locale/<language>/LC_MESSAGES/coursekit.mo``; a
missing catalog or entry gives the English.
"""

import functools
import gettext
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Callable, Optional, Union

SOURCE = "en"
LANGUAGES = (SOURCE, "zh_CN")
METADATA_KEY = "coursekit"
DOMAIN = "coursekit"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_chosen: Optional[str] = None  # set_language(): the grader's choice for this kernel


def normalize(tag: object) -> str:
    """A language tag as this course spells it: "zh", "zh-CN", "zh_Hans", "zh_CN.UTF-8" -> "zh_CN"; anything it
    has no catalog for (or not a string) -> "en"."""
    if not isinstance(tag, str):
        return SOURCE
    base = tag.split(".")[0].replace("-", "_").lower()
    if base in ("zh", "zh_cn", "zh_hans", "zh_hans_cn", "zh_sg"):
        return "zh_CN"
    return SOURCE


def notebook_language(metadata: Mapping) -> str:
    """The language a notebook's metadata declares (``metadata.coursekit.language``); English when absent."""
    course = metadata.get(METADATA_KEY) if isinstance(metadata, Mapping) else None
    return normalize(course.get("language")) if isinstance(course, Mapping) else SOURCE


def language_of(path: os.PathLike | str) -> str:
    """The language of the notebook file at ``path``; English when it cannot be read."""
    try:
        metadata = json.loads(Path(path).read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError, AttributeError):
        return SOURCE
    return notebook_language(metadata)


def set_language(language: Optional[str]) -> None:
    """Fix the language of this process's messages (the grader, in its kernel set-up); None forgets it."""
    global _chosen
    _chosen = None if language is None else normalize(language)


def kernel_language(environ: Mapping[str, str] = os.environ) -> str:
    """The language of messages in this kernel: ``set_language``'s, else that of the notebook named by
    ``JPY_SESSION_NAME``, else English. LANG and LC_* are never read."""
    if _chosen is not None:
        return _chosen
    session = environ.get("JPY_SESSION_NAME", "")
    if not session.endswith(".ipynb"):
        return SOURCE
    # jupyter_server gives the notebook's path, or (without a file name) its path below the server's root; the
    # kernel runs in the notebook's folder, so the file name alone finds it there
    path = Path(session)
    return language_of(path if path.is_file() else path.name)


def translator(language: str, localedir: os.PathLike | str = LOCALE_DIR,
               domain: str = DOMAIN) -> Callable[[str], str]:
    """``gettext`` for ``language``: a template -> its translation, or the template itself (English, or no
    catalog, or no entry)."""
    language = normalize(language)
    if language == SOURCE:
        return str
    return _catalog(language, str(localedir), domain)


@functools.lru_cache(maxsize=None)
def _catalog(language: str, localedir: str, domain: str) -> Callable[[str], str]:
    return gettext.translation(domain, localedir=localedir, languages=[language], fallback=True).gettext


# ----------------------------------------------------------------------------------------------------------------
# Messages: English templates, filled in after translation
# ----------------------------------------------------------------------------------------------------------------

def N_(template: str) -> str:
    """Mark a template where it is only defined (a table of causes, a constant); it is translated where shown."""
    return template


class Text(str):
    """A learner-visible message: its English, plus the template and values to render it in another language.

    ``Text("{where} has shape {got}; expected {expected}", where="output", got=(2, 3), expected=(3, 2))`` is the
    str "output has shape (2, 3); expected (3, 2)", so English code and tests use it like any string; only
    :meth:`render` (or :func:`render`) looks the template up. Values are data (numbers, shapes, identifiers) and
    stay as they are, except values that are themselves Text, which are rendered in the same language. A Text
    without values is a finished sentence (it may quote code with braces) and is never formatted. Joining Texts
    with + gives a plain (English) str: put the parts in a template instead.
    """

    def __new__(cls, template: str, **values):
        self = super().__new__(cls, template.format(**values) if values else template)
        self.template, self.values = template, values
        return self

    def render(self, language: Optional[str] = None) -> str:
        """The message in ``language`` (default: :func:`kernel_language`)."""
        translated = translator(kernel_language() if language is None else language)(self.template)
        if not self.values:
            return translated
        return translated.format(**{key: value.render(language) if isinstance(value, Text) else value
                                    for key, value in self.values.items()})

    def __repr__(self) -> str:
        return f"Text({self.template!r}, **{self.values!r})"


Message = Union[Text, str]  # a plain str is a template without values (N_-marked where it is defined) or data


def render(message: Message, language: Optional[str] = None) -> str:
    """``message`` in ``language`` (default: :func:`kernel_language`). A plain str is looked up as a template as
    it is (it has no values to fill in): an N_-marked constant is translated, any other text comes back unchanged."""
    if isinstance(message, Text):
        return message.render(language)
    return translator(kernel_language() if language is None else language)(message)
