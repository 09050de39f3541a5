"""What a translation must carry over from its English source unchanged.

Math ($...$, $$...$$), code spans (`...`), numbers and the format fields of a message template ({name}) are the
same in every edition, and a quotation of the seed (a Chinese sentence in quotes inside the English) is reproduced
exactly, up to white space: the Chinese edition quotes the seed as the English one does.
``problems(msgid, msgstr)`` lists what a translation lost or changed.
"""

import re
from collections import Counter

from i18n.segments import CODE_SPAN, MATH_SPAN, strip_literals

_FIELD = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*(?:[!:][^{}]*)?\}")
_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_CJK = "\u3400-\u9fff\uf900-\ufaff"
_QUOTED = re.compile(r'"([^"]*)"')
_HAS_CJK = re.compile(f"[{_CJK}]")


def math_spans(text: str) -> Counter:
    return Counter(m.group(0) for m in MATH_SPAN.finditer(text))


def code_spans(text: str) -> Counter:
    return Counter(m.group(2) for m in CODE_SPAN.finditer(MATH_SPAN.sub(" ", text)))


def numbers(text: str) -> Counter:
    return Counter(_NUMBER.findall(strip_literals(text)))


def fields(text: str) -> Counter:
    """The str.format fields of a message template ("{name}", "{passed:d}")."""
    return Counter(_FIELD.findall(strip_literals(text)))


def seed_quotes(text: str) -> list[str]:
    """The Chinese quotations inside an English text ("当重置门接近0时, ..."): quotation marks taken in pairs, left
    to right, keeping the quotations with Chinese in them (so that the English between two quoted glosses, as in
    万里 ("ten thousand li"), 青山 ("green mountains"), is never taken for one)."""
    return [quote for quote in _QUOTED.findall(text) if _HAS_CJK.search(quote)]


def _difference(name: str, source: Counter, target: Counter) -> list[str]:
    lost, added = source - target, target - source
    out = []
    if lost:
        out.append(f"{name} missing in the translation: {sorted(lost.elements())}")
    if added:
        out.append(f"{name} not in the source: {sorted(added.elements())}")
    return out


def problems(msgid: str, msgstr: str) -> list[str]:
    """Why ``msgstr`` is not a faithful carrier of ``msgid``'s math, code, numbers and seed quotations (empty: ok)."""
    found = (_difference("math", math_spans(msgid), math_spans(msgstr))
             + _difference("code", code_spans(msgid), code_spans(msgstr))
             + _difference("numbers", numbers(msgid), numbers(msgstr))
             + _difference("format fields", fields(msgid), fields(msgstr)))
    # A line break of the English source may sit inside a quotation; markdown shows it as a space.
    squeezed = _SPACE.sub("", msgstr)
    found += [f"seed quotation changed or missing: {quote!r}" for quote in seed_quotes(msgid)
              if _SPACE.sub("", quote) not in squeezed]
    return found
