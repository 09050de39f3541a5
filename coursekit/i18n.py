"""The language of learner-visible messages, taken from the notebook, never from the machine's locale.

A translated notebook says its language in its metadata, ``{"coursekit": {"language": "zh_CN"}}`` (written by
``python -m i18n build``); the English notebooks have no such key and mean English. (``metadata.language_info`` is
the programming language, Python, so it cannot say this.) A learner on an English system opening course-zh/ gets
Chinese messages; one on a Chinese system opening course/ gets English ones.

Where the language is known:

- **in the grader**, from the submission: ``notebook_language(submission.metadata)``. The grader renders its
  feedback with ``translator(language)`` and tells the kernel with ``set_language(language)`` in its trusted
  kernel set-up, since the kernel cannot see the notebook;
- **in a learner's kernel** (JupyterLab), from the notebook the kernel was started for: jupyter_server puts its
  path in the kernel's environment as ``JPY_SESSION_NAME``; ``kernel_language()`` reads that notebook's metadata.

Messages are English in the source and translated where they are shown, with gettext: a check builds its message
from a template, ``translator(language)(template).format(**values)``, so the catalog entry is the template
(``"{name}: {passed}/{total} cases pass."``) and the numbers stay numbers. The compiled catalogs are
``coursekit/locale/<language>/LC_MESSAGES/coursekit.mo``; a missing catalog or entry gives the English.
"""

import gettext
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Callable, Optional

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
    return language_of(session) if session.endswith(".ipynb") else SOURCE


def translator(language: str, localedir: os.PathLike | str = LOCALE_DIR,
               domain: str = DOMAIN) -> Callable[[str], str]:
    """``gettext`` for ``language``: a template -> its translation, or the template itself (English, or no
    catalog, or no entry)."""
    language = normalize(language)
    if language == SOURCE:
        return str
    return gettext.translation(domain, localedir=str(localedir), languages=[language], fallback=True).gettext
