"""The learner-visible messages of coursekit and the autograder in Chinese (i18n/zh_CN/coursekit.po): every
marked template has a current translation that keeps its placeholders, the compiled catalog is the committed one,
and real failures of the learner corpus come out in Chinese in a Chinese notebook and in English otherwise."""

import collections
import re
import string
from pathlib import Path

import numpy as np
import pytest

from coursekit import checking, i18n, items
from coursekit.feedback import CheckFailed
from i18n import catalogs, messages
from learner_corpus import entries

ROOT = Path(__file__).resolve().parents[1]

LANGUAGE = "zh_CN"
CJK = re.compile(r"[\u4e00-\u9fff]")
# a run of three English words outside code: what an untranslated sentence leaves behind
ENGLISH_WORDS = re.compile(r"(?<![\w.`'\"(\[])(?:[A-Za-z]{2,} ){2,}[A-Za-z]{2,}(?![\w(`'\"])")


def _catalog():
    return catalogs.read(messages.catalog_path(ROOT, LANGUAGE))


def _fields(template):
    """The placeholders of a str.format template, with their conversions and specs, as a multiset."""
    return collections.Counter((name, conversion, spec) for _, name, spec, conversion
                               in string.Formatter().parse(template) if name is not None)


def test_every_marked_message_has_a_current_translation():
    extracted = {m.id for m in messages.extract(ROOT, LANGUAGE) if m.id}
    catalog = {m.id: m for m in _catalog() if m.id}
    assert extracted, "no marked message found: the extraction keywords are wrong"
    missing = sorted(extracted - catalog.keys())
    stale = sorted(catalog.keys() - extracted)
    untranslated = sorted(k for k in extracted & catalog.keys() if not catalog[k].string or catalog[k].fuzzy)
    assert not missing, f"run `python -m i18n messages`: {missing[:5]}"
    assert not stale, f"run `python -m i18n messages` (entries no source uses any more): {stale[:5]}"
    assert not untranslated, f"translate these in i18n/zh_CN/coursekit.po: {untranslated[:5]}"


def test_translations_keep_every_placeholder_and_are_chinese():
    for message in _catalog():
        if not message.id:
            continue
        assert _fields(message.string) == _fields(message.id), (message.id, message.string)
        if re.search(r"[A-Za-z]{3,} [A-Za-z]{3,}", message.id):  # a phrase, not an identifier or a shape
            assert CJK.search(message.string), (message.id, message.string)


def test_the_committed_mo_is_the_catalog_compiled():
    assert messages.mo_path(ROOT, LANGUAGE).read_bytes() == messages.mo_bytes(_catalog()), \
        "run `python -m i18n messages` to compile i18n/zh_CN/coursekit.po"


def _item_messages():
    """Every diagnosis, blame and worded case label of every graded item (hidden cases included), and the
    sampler's own table of mistakes (it validates draws instead of comparing with one reference)."""
    from coursekit.items import tang_poems
    found = [text for text, _ in tang_poems.SAMPLE_MISTAKES]
    # the course's assignments (a folder under solutions/): tests register synthetic ones in the same registry
    course = [name for name in items.ASSIGNMENTS if (ROOT / "solutions" / name).is_dir()]
    for name in course:
        for item in items.ASSIGNMENTS[name].values():
            found += [text for text, _ in item.mistakes] + [hint for _, hint in item.entry_hints]
            for case in item.make_cases(np.random.default_rng(0), True):
                found += [case.blame] if case.blame else []
                code = re.fullmatch(r"[\w.]+\(.*\)", case.label)  # a label that is a call, e.g. nn.GRU(7, 4)
                found += [case.label] if re.search(r"\b[A-Za-z]{3,}\b(?!=)", case.label) and not code else []
    return found


def test_every_message_of_every_item_has_a_chinese_translation():
    messages = _item_messages()
    assert len(messages) > 300
    assert sorted({m for m in messages if i18n.render(m, LANGUAGE) == m}) == []


WRONG = [e for e in entries() if e.cause is not None]


def _failure(entry, language):
    item = items.get(entry.assignment, entry.item)
    with pytest.raises(CheckFailed) as raised:
        checking.check(item, entry.fn, language=language)
    return str(raised.value)


@pytest.mark.parametrize("entry", WRONG, ids=[f"{e.item}-{e.label}" for e in WRONG])
def test_a_failure_in_a_chinese_notebook_is_chinese_line_by_line(entry):
    chinese = _failure(entry, LANGUAGE)
    for line in chinese.splitlines():
        assert CJK.search(line), f"an English line in a Chinese message: {line!r}"
        # what is left in English is code, identifiers or Python's own error text (quoted data)
        prose = re.sub(r"`[^`]*`|'[^']*'|\"[^\"]*\"|\w+Error: .*", "", line)
        assert not ENGLISH_WORDS.search(prose), f"untranslated words in {line!r}"


def test_the_same_failure_in_an_english_notebook_is_english():
    entry = next(e for e in WRONG if e.item == "test_gru_cell_forward")
    english = _failure(entry, "en")
    assert not CJK.search(english) and "Likely cause:" in english
    assert _failure(entry, None) == english  # no notebook, no grader's choice: English, whatever the locale


def test_the_notebook_decides_the_language_of_a_check(monkeypatch):
    """A check called without a language takes its kernel's notebook (JPY_SESSION_NAME, as jupyter_server sets)."""
    entry = next(e for e in WRONG if e.item == "test_gru_update")
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.setenv("JPY_SESSION_NAME", str(ROOT / "course-zh" / "01-gru-concept" / "gru_concept.ipynb"))
    assert CJK.search(_failure(entry, None))
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    monkeypatch.setenv("JPY_SESSION_NAME", str(ROOT / "course" / "01-gru-concept" / "gru_concept.ipynb"))
    assert not CJK.search(_failure(entry, None))


def test_a_session_path_below_the_server_root_is_found_from_the_notebooks_folder(monkeypatch, tmp_path):
    """Without a file name jupyter_server gives the path below its root; the kernel runs in the notebook's
    folder."""
    chinese = ROOT / "course-zh" / "01-gru-concept" / "gru_concept.ipynb"
    monkeypatch.chdir(chinese.parent)
    assert i18n.kernel_language({"JPY_SESSION_NAME": "course-zh/01-gru-concept/gru_concept.ipynb"}) == LANGUAGE


def test_a_passed_check_says_so_in_the_notebooks_language(capsys):
    item = items.get("01-gru-concept", "test_gru_update")
    checking.check(item, lambda h, n, z: (1 - z) * n + z * h, hidden=True, language=LANGUAGE)
    assert capsys.readouterr().out.startswith("隐藏检查通过：gru_update：全部")


def test_a_text_is_its_english_and_renders_nested_values():
    cause = i18n.Text("Likely cause: {cause}", cause=i18n.Text(checking.INPUT_CAUSE))
    assert cause == "Likely cause: " + checking.INPUT_CAUSE  # a str, for code and tests that compare English
    assert cause.render(LANGUAGE).startswith("可能的原因：x += ...")
    braces = i18n.Text("a dict like {'W': w} is quoted, not formatted")
    assert braces.render(LANGUAGE) == braces
