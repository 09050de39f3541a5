"""i18n.segments and i18n.placeholders: what becomes a translation unit, and what a translation cannot touch."""

import ast
import io
import tokenize

import nbformat
import pytest

from i18n.placeholders import problems
from i18n.segments import apply, code_units, markdown_units

MARKDOWN = """## 3. The update gate (更新门)

The update gate is computed
from the input:

$$z_t = \\sigma(W x + b),$$

- $z \\to 1$: the unit **keeps**
  its old value;
- $z \\to 0$: it takes $n$.

| | this course | the seed |
|---|---|---|
| $z \\to 1$ | keeps the old state | takes the candidate |

> **The seed's convention.** The seed says "当门值趋于1时, 输出就是新的h(t)",
> i.e. the other one."""

CODE = '''%matplotlib inline
import numpy as np

rng = np.random.default_rng(0)  # every random number comes from here


def sigmoid(x):
    """Logistic sigmoid, without overflow.

    x: a number or an array. Returns the same shape.
    """
    ### BEGIN SOLUTION
    # A block of two comment lines
    # that reads as one sentence.
    e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    ### END SOLUTION
'''


def test_markdown_units_are_paragraphs_items_headings_cells_and_quotes():
    units = markdown_units(MARKDOWN)
    assert [(u.kind, u.msgid) for u in units] == [
        ("heading", "3. The update gate (更新门)"),
        ("paragraph", "The update gate is computed from the input:"),
        ("item", "$z \\to 1$: the unit **keeps** its old value;"),
        ("item", "$z \\to 0$: it takes $n$."),
        ("table", "this course"), ("table", "the seed"),
        ("table", "keeps the old state"), ("table", "takes the candidate"),
        ("quote", "**The seed's convention.** The seed says \"当门值趋于1时, 输出就是新的h(t)\", i.e. the other one."),
    ]


def test_markdown_outside_the_units_is_kept_byte_for_byte():
    units = markdown_units(MARKDOWN)
    translated, missing = apply(MARKDOWN, units, lambda msgid: "X")
    assert not missing
    kept = [MARKDOWN[a.end:b.start] for a, b in zip(units, units[1:])]
    position = 0
    for piece in kept:  # every stretch between two units is still there, in order
        position = translated.index(piece, position)
    assert "$$z_t = \\sigma(W x + b),$$" in translated and "|---|---|---|" in translated
    assert "| $z \\to 1$ | X | X |" in translated
    assert translated.startswith("## X\n\nX\n\n$$") and translated.endswith("> X")


def test_a_line_break_in_a_translation_continues_the_block():
    units = markdown_units("- one item\n  that goes on\n\n> a quote\n> on two lines")
    translated, _ = apply("- one item\n  that goes on\n\n> a quote\n> on two lines", units,
                          {"one item that goes on": "第一行\n第二行", "a quote on two lines": "引文\n第二行"}.get)
    assert translated == "- 第一行\n  第二行\n\n> 引文\n> 第二行"


def test_code_units_are_comments_and_docstring_paragraphs_not_nbgrader_markers():
    units = code_units(CODE)
    assert [(u.kind, u.msgid) for u in units] == [
        ("comment", "every random number comes from here"),
        ("docstring", "Logistic sigmoid, without overflow."),
        ("docstring", "x: a number or an array. Returns the same shape."),
        ("comment", "A block of two comment lines that reads as one sentence."),
        ("comment", "in (0, 1]: never overflows"),
    ]


def _code_tokens(source):
    """The cell's tokens without comments and with string literals blanked: what must not change."""
    lines = "".join("\n" if line.lstrip().startswith("%") else line for line in source.splitlines(keepends=True))
    return [(t.type, "" if t.type == tokenize.STRING else t.string)
            for t in tokenize.generate_tokens(io.StringIO(lines).readline)
            if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE)]


def _without_docstrings(source):
    tree = ast.parse("".join("\n" if line.startswith("%") else line for line in source.splitlines(keepends=True)))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and isinstance(node.body[0], ast.Expr):
            node.body = node.body[1:]
    return ast.dump(tree)


def test_translating_a_code_cell_changes_comments_and_docstrings_only():
    chinese = {"every random number comes from here": "每个随机数都来自这里",
               "Logistic sigmoid, without overflow.": "不会上溢的 sigmoid。",
               "x: a number or an array. Returns the same shape.": "x：一个数或数组。\n返回相同的形状。",
               "A block of two comment lines that reads as one sentence.": "两行注释\n读作一句话。",
               "in (0, 1]: never overflows": "取值在 (0, 1] 内：永不上溢"}
    translated, missing = apply(CODE, code_units(CODE), chinese.get)
    assert not missing
    assert _code_tokens(translated) == _code_tokens(CODE)
    assert _without_docstrings(translated) == _without_docstrings(CODE)
    assert "    # 两行注释\n    # 读作一句话。\n" in translated
    assert '    """不会上溢的 sigmoid。\n\n    x：一个数或数组。\n    返回相同的形状。\n    """' in translated
    assert "### BEGIN SOLUTION" in translated and "%matplotlib inline" in translated


def test_code_python_cannot_read_keeps_its_comments():
    assert [u.msgid for u in code_units('def broken(:\n    """Not a docstring here."""  # a comment')] == ["a comment"]
    assert [u.msgid for u in code_units("x = (1,  # an open bracket\n")] == ["an open bracket"]


@pytest.mark.parametrize("msgid, msgstr, complaint", [
    ("keeps $z^k$ for 6.6 steps", "保持 6.6 步", "math missing"),
    ("keeps $z^k$ for 6.6 steps", "$z^k$ 保持 6.7 步", "numbers"),
    ("call `gru.forward`", "调用 `gru.backward`", "code"),
    ("{name}: {passed}/{total} cases pass.", "{name}：通过 {passed} 个。", "format fields"),
    ("the seed says \"当重置门接近0时,它几乎会忽略\"", "原教程说“当重置门接近0时，它几乎会忽略”", "seed quotation"),
])
def test_placeholders_name_what_a_translation_lost(msgid, msgstr, complaint):
    found = problems(msgid, msgstr)
    assert found and any(complaint in p for p in found), found


def test_placeholders_accept_a_faithful_translation():
    msgid = "The seed says \"重置门门值作用在了\nh(t-1)上\": $W_{hn}(r \\odot h) + b_{hn}$ in `gru.cell_forward`, section 8."
    assert problems(msgid, "原教程说“重置门门值作用在了h(t-1)上”：`gru.cell_forward` 中的 "
                           "$W_{hn}(r \\odot h) + b_{hn}$，第 8 节。") == []


def test_every_markdown_cell_of_the_course_cuts_without_losing_text():
    """On the real notebooks: replacing every unit by a marker leaves no English word outside math, code, tables'
    rules and list markers (so nothing English would survive a complete translation)."""
    import re
    from pathlib import Path

    from i18n.segments import strip_literals
    for path in sorted((Path(__file__).resolve().parents[1] / "solutions").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "markdown":
                continue
            translated, _ = apply(cell.source, markdown_units(cell.source), lambda m: "译")
            left = [line for line in strip_literals(translated).splitlines() if re.search(r"[A-Za-z]{2,}", line)]
            assert not left, f"{path.parent.name}/{cell.id}: English left outside every unit: {left[:3]}"


MARKDOWN_STRING = '''def go_further_answers():
    """Model answers."""
    ### BEGIN SOLUTION
    from IPython.display import Markdown

    note = "not prose: a plain string"  # a comment
    return Markdown(r"""
1. The half-life is $\\ln 0.5 / \\ln z$
   steps.
2. **Packing.** `pack_padded_sequence` keeps
the real steps.
""")
    ### END SOLUTION
'''


def test_a_markdown_string_is_cut_like_a_markdown_cell():
    """The "Go further" model answers are the argument of Markdown(r\"\"\"...\"\"\") inside a solution region: their
    markdown units are units of the code cell; other strings are code."""
    units = code_units(MARKDOWN_STRING)
    assert [(u.kind, u.msgid) for u in units] == [
        ("docstring", "Model answers."),
        ("comment", "a comment"),
        ("Markdown() item", "The half-life is $\\ln 0.5 / \\ln z$ steps."),
        ("Markdown() item", "**Packing.** `pack_padded_sequence` keeps the real steps."),
    ]
    chinese = {"Model answers.": "参考答案。", "a comment": "一条注释",
               "The half-life is $\\ln 0.5 / \\ln z$ steps.": "半衰期是\n$\\ln 0.5 / \\ln z$ 步。",
               "**Packing.** `pack_padded_sequence` keeps the real steps.":
                   "**打包。** `pack_padded_sequence` 保留真实时间步。"}
    translated, missing = apply(MARKDOWN_STRING, units, chinese.get)
    assert not missing
    assert _code_tokens(translated) == _code_tokens(MARKDOWN_STRING)
    assert '1. 半衰期是\n   $\\ln 0.5 / \\ln z$ 步。\n2. **打包。** `pack_padded_sequence` 保留真实时间步。\n""")' in translated
    assert "not prose: a plain string" in translated
    ast.parse(translated)


@pytest.mark.parametrize("call", ['Markdown(f"""an {answer}""")', 'Markdown("a\\\\nb and more")',
                                  'Markdown("one " "two")', "Markdown(text)", 'Latex(r"""some words""")'])
def test_only_a_literal_markdown_string_is_prose(call):
    assert code_units(f"show({call})\n") == []


def test_every_markdown_string_of_the_course_cuts_without_losing_text():
    """On the real notebooks: no English word of a Markdown() string survives a complete translation."""
    import re
    from pathlib import Path

    from i18n.segments import strip_literals
    found = 0
    for path in sorted((Path(__file__).resolve().parents[1] / "solutions").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            units = [u for u in code_units(cell.source) if u.kind.startswith("Markdown() ")] \
                if cell.cell_type == "code" else []
            if not units:
                continue
            found += 1
            translated, _ = apply(cell.source, units, lambda m: "译")
            string = translated[translated.index('Markdown(r"""') + len('Markdown(r"""'):translated.index('""")')]
            left = [line for line in strip_literals(string).splitlines() if re.search(r"[A-Za-z]{2,}", line)]
            assert not left, f"{path.parent.name}/{cell.id}: English left outside every unit: {left[:3]}"
    assert found >= 5  # the model answers of 01-05


def test_a_long_previous_msgid_survives_a_round_trip(tmp_path):
    """Babel wraps a fuzzy entry's long "#| msgid" inside its strings and then reads it back as comments;
    catalogs.read puts the old English back, so an update after an update keeps it and adds no junk comment."""
    from babel.messages.catalog import Catalog
    from i18n import catalogs

    catalog = Catalog(locale="zh_CN")
    message = catalog.add("the new English sentence of a paragraph " * 4, "中文", flags=["fuzzy"])
    message.previous_id = ['the old "quoted" English sentence of a paragraph ' * 4]
    path = tmp_path / "x.po"
    path.write_bytes(catalogs.dumps(catalog))
    again = next(m for m in catalogs.read(path) if m.id)
    assert again.previous_id == message.previous_id and not again.user_comments
    assert catalogs.dumps(catalogs.read(path)) == path.read_bytes()
