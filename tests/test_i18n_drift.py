"""No drift between the English notebooks and the Chinese edition.

For every notebook of solutions/ that HAS a catalog (i18n/zh_CN/<id>.po):

- every unit of the current English notebook has a translation that is neither empty nor fuzzy, and the catalog
  has no entry the notebook no longer has (``python -m i18n update`` was run after the last English edit);
- every translation keeps its source's math, code spans, numbers and quotations of the seed;
- solutions-zh/<id>/ is what the English notebook and the catalog generate now, with the English notebook's cells,
  ids, nbgrader metadata and code (only comments and docstrings differ);
- course-zh/<id>/ is what nbgrader generates from solutions-zh/<id>/ (slow).

A notebook without a catalog is reported as skipped, "not translated yet", so the summary lists what remains.
"""

import io
import json
import subprocess
import sys
import tokenize
from pathlib import Path

import nbformat
import pytest

from i18n import catalogs, editions
from i18n.placeholders import problems

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.parent.name for p in (ROOT / "solutions").glob("*/*.ipynb"))
LANGUAGE = "zh_CN"


def catalog_or_skip(assignment):
    path = catalogs.catalog_path(ROOT, assignment, LANGUAGE)
    if not path.is_file():
        pytest.skip(f"{assignment}: not translated yet (no {path.relative_to(ROOT)}; start it with "
                    f"`python -m i18n update {assignment}`)")
    return path


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_english_string_has_a_current_translation(assignment):
    catalog_or_skip(assignment)
    state = catalogs.status(ROOT, assignment, LANGUAGE)
    lines = [f"  untranslated: {m[:120]}" for m in state.untranslated] + \
            [f"  fuzzy: {m[:120]}" for m in state.fuzzy] + [f"  stale: {m[:120]}" for m in state.stale]
    assert state.complete, (f"{assignment}: {len(state.untranslated)} untranslated, {len(state.fuzzy)} fuzzy, "
                            f"{len(state.stale)} stale entries; run `python -m i18n update {assignment}` and "
                            f"translate i18n/zh_CN/{assignment}.po:\n" + "\n".join(lines[:30]))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_translations_keep_math_code_numbers_and_seed_quotations(assignment):
    catalog = catalogs.read(catalog_or_skip(assignment))
    found = [f"{m.id[:80]!r}: {p}" for m in catalog if m.id and m.string for p in problems(m.id, m.string)]
    assert not found, "\n".join(found)


def _code_tokens(source):
    """A code cell's tokens without comments, string literals blanked (docstrings are translated)."""
    text = "".join("\n" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines(True))
    return [(t.type, "" if t.type == tokenize.STRING else t.string)
            for t in tokenize.generate_tokens(io.StringIO(text).readline)
            if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE)]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_chinese_instructor_notebook_is_generated_and_has_the_english_structure(assignment):
    catalog_or_skip(assignment)
    english = nbformat.read(catalogs.english_notebook(ROOT, assignment), as_version=nbformat.NO_CONVERT)
    path = editions.instructor_dir(ROOT, LANGUAGE) / assignment / catalogs.english_notebook(ROOT, assignment).name
    assert path.is_file(), f"{path} is missing: run `python -m autograder release {assignment}`"
    committed = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    expected, _ = editions.render_instructor(ROOT, assignment, LANGUAGE)
    assert json.loads(nbformat.writes(committed)) == json.loads(nbformat.writes(expected)), (
        f"{path} is out of date: run `python -m autograder release {assignment}`")
    assert committed.metadata["coursekit"]["language"] == LANGUAGE
    assert len(committed.cells) == len(english.cells)
    for zh, en in zip(committed.cells, english.cells):
        assert (zh.get("id"), zh.cell_type) == (en.get("id"), en.cell_type)
        assert zh.metadata == en.metadata, zh.get("id")
        if en.cell_type == "code":
            assert _code_tokens(zh.source) == _code_tokens(en.source), f"{zh.id}: code differs"
            assert zh.outputs == [] and zh.execution_count is None


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_course_zh_is_what_nbgrader_generates(assignment, tmp_path):
    catalog_or_skip(assignment)
    name = catalogs.english_notebook(ROOT, assignment).name
    bin_dir = str(Path(sys.executable).parent)
    completed = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force", "--no-db",
         f"--CourseDirectory.source_directory={editions.instructor_dir(ROOT, LANGUAGE).name}",
         f"--CourseDirectory.release_directory={tmp_path}"],
        cwd=ROOT / "autograder", capture_output=True, text=True,
        env={"PATH": bin_dir + ":/usr/bin:/bin", "HOME": str(tmp_path)})
    assert completed.returncode == 0, completed.stderr[-3000:]
    fresh = nbformat.read(tmp_path / assignment / name, as_version=nbformat.NO_CONVERT)
    committed = nbformat.read(editions.student_dir(ROOT, LANGUAGE) / assignment / name,
                              as_version=nbformat.NO_CONVERT)
    assert [(c.get("id"), c.source, c.metadata) for c in committed.cells] == \
           [(c.get("id"), c.source, c.metadata) for c in fresh.cells], (
        f"course-zh/{assignment} is out of date: run `python -m autograder release {assignment}`")


def test_an_english_edit_makes_its_entry_fuzzy_and_leaves_it_english_until_translated(tmp_path):
    """The mechanism the drift test relies on, on a copy: edit one English paragraph of 01-gru-concept."""
    import shutil
    assignment = "01-gru-concept"
    shutil.copytree(ROOT / "solutions" / assignment, tmp_path / "solutions" / assignment)
    (tmp_path / "i18n" / LANGUAGE).mkdir(parents=True)
    shutil.copy(catalogs.catalog_path(ROOT, assignment, LANGUAGE), tmp_path / "i18n" / LANGUAGE)
    path = catalogs.english_notebook(tmp_path, assignment)
    notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    old = "A gate is a vector of numbers between 0 and 1 that multiplies another vector element by element"
    new = "A gate is a vector of values between 0 and 1 that multiplies another vector element by element"
    cell = next(c for c in notebook.cells if old in c.source)
    cell.source = cell.source.replace(old, new)
    nbformat.write(notebook, path)

    before = catalogs.status(tmp_path, assignment, LANGUAGE)
    assert not before.complete and len(before.untranslated) == 1 and len(before.stale) == 1
    _, after = catalogs.update(tmp_path, assignment, LANGUAGE)
    assert after.untranslated == [] and after.stale == [] and len(after.fuzzy) == 1
    assert after.fuzzy[0].startswith(new)
    rendered, left = editions.render_instructor(tmp_path, assignment, LANGUAGE)
    assert left == after.fuzzy  # a fuzzy entry is not used: that paragraph stays English
    assert new in next(c for c in rendered.cells if c.get("id") == cell.get("id")).source
    assert "#| msgid" in catalogs.catalog_path(tmp_path, assignment, LANGUAGE).read_text(encoding="utf-8")

    catalog = catalogs.read(catalogs.catalog_path(tmp_path, assignment, LANGUAGE))
    catalog[after.fuzzy[0]].flags.discard("fuzzy")  # a translator checked it
    catalogs.catalog_path(tmp_path, assignment, LANGUAGE).write_bytes(catalogs.dumps(catalog))
    assert catalogs.status(tmp_path, assignment, LANGUAGE).complete


# Terms of docs/glossary.md (d2l-zh) and the variants a translation must not use instead; the seed's own words
# (隐藏状态, 候选隐藏状态) survive only inside its quotations.
NOT_THE_GLOSSARY = {"隐藏状态": "隐状态", "隐含状态": "隐状态", "候选隐藏状态": "候选隐状态", "长短时记忆": "长短期记忆网络",
                    "门控循环网络单元": "门控循环单元", "梯度截断": "梯度裁剪", "梯度检查": "梯度检验", "记忆细胞": "记忆元"}


def _not_the_glossary(text):
    """The variants of glossary terms in ``text`` (seed quotations already removed), as "wrong (glossary: right)"."""
    found = [f"{wrong} (glossary: {right})" for wrong, right in NOT_THE_GLOSSARY.items() if wrong in text]
    if "时间反向传播" in text.replace("通过时间反向传播", ""):
        found.append("时间反向传播 (glossary: 通过时间反向传播)")
    return found


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_translations_use_the_glossary_terms(assignment):
    from i18n.placeholders import seed_quotes
    catalog = catalogs.read(catalog_or_skip(assignment))
    found = []
    for message in catalog:
        if not (message.id and message.string):
            continue
        text = message.string
        for quote in seed_quotes(message.id):
            text = text.replace(quote, "")
        found += [f"{message.id[:60]!r}: {problem}" for problem in _not_the_glossary(text)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_english_notebooks_gloss_with_the_glossary_terms(assignment):
    """A Chinese gloss in the English notebook, "hidden state (隐状态)", math included ("\\text{candidate 候选隐状态}"),
    is the glossary's word; only a quotation of the seed keeps the seed's (隐藏状态, 候选隐藏状态)."""
    from i18n.placeholders import seed_quotes
    notebook = nbformat.read(catalogs.english_notebook(ROOT, assignment), as_version=4)
    found = []
    for cell in notebook.cells:
        text = cell.source
        for quote in seed_quotes(cell.source):
            text = text.replace(quote, "")
        found += [f"{cell.get('id')}: {problem}" for problem in _not_the_glossary(text)]
    assert not found, "\n".join(found)


def test_the_glossary_page_lists_the_terms_it_is_checked_against():
    import re
    glossary = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    for right in sorted(set(NOT_THE_GLOSSARY.values()) | {"通过时间反向传播", "更新门", "重置门"}):
        # in the Chinese column of a table row: "| English | 中文 | note |"
        assert re.search(rf"^\|[^|\n]+\|[^|\n]*{re.escape(right)}", glossary, re.M), f"{right} is not in the glossary"


def test_the_message_catalog_is_current_and_compiled():
    """i18n/zh_CN/coursekit.po holds every message marked in coursekit/ and autograder/, translated, and its
    compiled .mo is up to date (none is needed while no message is marked)."""
    from i18n import messages
    path = messages.catalog_path(ROOT, LANGUAGE)
    assert path.is_file(), "run `python -m i18n messages`"
    catalog = catalogs.read(path)
    marked = {m.id for m in messages.extract(ROOT, LANGUAGE) if m.id}
    listed = {m.id for m in catalog if m.id}
    assert marked == listed, f"run `python -m i18n messages`: new {sorted(marked - listed)[:10]}, " \
                             f"gone {sorted(listed - marked)[:10]}"
    left = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert not left, f"untranslated or fuzzy in {path.relative_to(ROOT)}: {left[:10]}"
    found = [f"{m.id!r}: {p}" for m in catalog if m.id and m.string for p in problems(m.id, m.string)]
    assert not found, "\n".join(found)
    mo = messages.mo_path(ROOT, LANGUAGE)
    if listed:
        assert mo.is_file() and mo.read_bytes() == messages.mo_bytes(catalog), "run `python -m i18n messages`"
    else:
        assert not mo.exists()
