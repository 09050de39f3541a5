"""coursekit.i18n: the language of messages comes from the notebook (its metadata), never from the locale."""

import json
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from coursekit import i18n

ROOT = Path(__file__).resolve().parents[1]
CHINESE = ROOT / "course-zh" / "01-gru-concept" / "gru_concept.ipynb"
ENGLISH = ROOT / "course" / "01-gru-concept" / "gru_concept.ipynb"


@pytest.fixture(autouse=True)
def no_choice():
    i18n.set_language(None)
    yield
    i18n.set_language(None)


@pytest.mark.parametrize("tag, language", [("zh_CN", "zh_CN"), ("zh-CN", "zh_CN"), ("zh", "zh_CN"),
                                           ("zh_Hans", "zh_CN"), ("zh_CN.UTF-8", "zh_CN"), ("en", "en"),
                                           ("fr_FR", "en"), (None, "en"), (3, "en")])
def test_normalize(tag, language):
    assert i18n.normalize(tag) == language


def test_the_language_is_the_notebooks_course_key_not_language_info():
    assert i18n.notebook_language({"coursekit": {"language": "zh_CN"}, "language_info": {"name": "python"}}) == "zh_CN"
    assert i18n.notebook_language({"language_info": {"name": "python"}}) == "en"
    assert i18n.notebook_language({"coursekit": "zh_CN"}) == "en"  # malformed: English, no error


def test_the_committed_editions_declare_their_language():
    assert i18n.language_of(CHINESE) == "zh_CN"
    assert i18n.language_of(ENGLISH) == "en"
    assert i18n.language_of(ROOT / "no-such-notebook.ipynb") == "en"


def test_a_kernel_takes_the_language_of_its_notebook_and_ignores_the_locale():
    chinese_on_english_machine = {"JPY_SESSION_NAME": str(CHINESE), "LANG": "en_US.UTF-8", "LC_ALL": "en_US.UTF-8"}
    english_on_chinese_machine = {"JPY_SESSION_NAME": str(ENGLISH), "LANG": "zh_CN.UTF-8", "LC_ALL": "zh_CN.UTF-8"}
    assert i18n.kernel_language(chinese_on_english_machine) == "zh_CN"
    assert i18n.kernel_language(english_on_chinese_machine) == "en"
    assert i18n.kernel_language({"LANG": "zh_CN.UTF-8"}) == "en"  # no notebook (a script, a console): English


def test_the_graders_choice_wins_over_the_notebook_file():
    i18n.set_language("zh-CN")  # the grader read the submission's metadata
    assert i18n.kernel_language({"JPY_SESSION_NAME": str(ENGLISH)}) == "zh_CN"
    i18n.set_language(None)
    assert i18n.kernel_language({"JPY_SESSION_NAME": str(ENGLISH)}) == "en"


def test_translator_uses_the_compiled_catalog_and_falls_back_to_english(tmp_path):
    catalog = Catalog(locale="zh_CN", domain="coursekit")
    catalog.add("{name}: {passed}/{total} cases pass.", "{name}：{total} 个用例中通过 {passed} 个。")
    folder = tmp_path / "zh_CN" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with open(folder / "coursekit.mo", "wb") as handle:
        write_mo(handle, catalog)
    template = "{name}: {passed}/{total} cases pass."
    chinese = i18n.translator("zh_CN", localedir=tmp_path)
    assert chinese(template).format(name="sigmoid", passed=1, total=2) == "sigmoid：2 个用例中通过 1 个。"
    assert chinese("a message nobody translated") == "a message nobody translated"
    assert i18n.translator("en", localedir=tmp_path)(template) == template
    assert i18n.translator("zh_CN", localedir=tmp_path / "nowhere")(template) == template


def test_the_course_zh_notebook_is_valid_json_with_the_key_at_the_top_level():
    metadata = json.loads(CHINESE.read_text(encoding="utf-8"))["metadata"]
    assert metadata["coursekit"] == {"language": "zh_CN"}


def test_marked_messages_go_from_the_source_to_the_kernel(tmp_path):
    """i18n.messages on a small tree: extract a marked template, translate it, compile, look it up."""
    from i18n import catalogs, messages
    (tmp_path / "coursekit").mkdir()
    (tmp_path / "autograder").mkdir()
    (tmp_path / "coursekit" / "checking.py").write_text(
        "def _(text):\n    return text\n\n\n"
        "def report(name, passed, total):\n"
        "    # TRANSLATORS: one line per graded function\n"
        "    return _('{name}: {passed}/{total} cases pass.').format(name=name, passed=passed, total=total)\n")
    path = messages.update(tmp_path, "zh_CN")
    catalog = catalogs.read(path)
    assert [m.id for m in catalog if m.id] == ["{name}: {passed}/{total} cases pass."]
    assert messages.compile(tmp_path, "zh_CN") is not None  # an entry, even untranslated, gives a .mo
    catalog["{name}: {passed}/{total} cases pass."].string = "{name}：{total} 个用例中通过 {passed} 个。"
    path.write_bytes(catalogs.dumps(catalog))
    mo = messages.compile(tmp_path, "zh_CN")
    assert mo == messages.mo_path(tmp_path, "zh_CN") and mo.is_file()
    chinese = i18n.translator("zh_CN", localedir=tmp_path / "coursekit" / "locale")
    assert chinese("{name}: {passed}/{total} cases pass.").format(name="gru_update", passed=0, total=2) == \
        "gru_update：2 个用例中通过 0 个。"
