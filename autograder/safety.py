"""Everything a submission says is made safe before it is written or shown (不让一份作业影响别人).

A submission controls many strings: its folder name (the student id), file names, error messages, printed output,
the notebook itself. None of them may stop the grader, reach the instructor's terminal as escape sequences, turn
into a spreadsheet formula, overwrite another student's files, or run a script where formgrader renders them.

- :func:`printable`: text for a terminal or a log (lone surrogates replaced, control characters escaped);
- :func:`csv_cell`: text for one CSV cell (also no tabs or newlines, and no leading ``= + - @``: a formula);
- :func:`file_stems`: one collision-proof file name per student id;
- :func:`inert_notebook`: a notebook with no active content (scripts, event handlers, JavaScript outputs).
"""

import copy
import hashlib
import re
import unicodedata

import bleach

_FORMULA_START = ("=", "+", "-", "@")
_NUMBER = re.compile(r"[-+]?\d+(\.\d+)?([eE][-+]?\d+)?")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._@+-]")


def _valid_unicode(text):
    """``text`` as a str whose every character encodes in UTF-8 (lone surrogates become U+FFFD)."""
    if not isinstance(text, str):
        text = str(text)
    if not _has_surrogates(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")  # a lone surrogate -> U+FFFD


def _has_surrogates(text):
    try:
        text.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def _escape_controls(text, keep="\n"):
    out = []
    for char in text:
        if char in keep or unicodedata.category(char) not in ("Cc", "Cf", "Cs"):
            out.append(char)
        else:
            out.append(f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")
    return "".join(out)


def printable(text, limit=None):
    """``text`` safe for a terminal: valid UTF-8, control and format characters (ESC, BEL, bidi overrides)
    shown as escapes; newlines kept. Cut to ``limit`` characters when given."""
    text = _escape_controls(_valid_unicode(text))
    return text if limit is None or len(text) <= limit else text[:limit] + "..."


def csv_cell(value):
    """``value`` safe for one CSV cell that a spreadsheet opens: printable, on one line, and never a formula."""
    text = printable(value).replace("\n", " ")
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        text = "'" + text
    return text


def file_stem(student_id):
    """A file-name stem for ``student_id``: its safe characters, plus a short hash of the exact id whenever the
    safe form differs from it (so "victim x" and "victim_x" never share files)."""
    text = _valid_unicode(student_id)
    cleaned = _SAFE_NAME.sub("_", text).strip(".") or "unnamed"
    cleaned = cleaned[:80]
    if cleaned != text:
        digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:8]
        cleaned = f"{cleaned}-{digest}"
    return cleaned


def file_stems(student_ids):
    """{student id: stem} with every stem distinct (case-insensitively, for file systems that ignore case)."""
    stems, taken = {}, set()
    for student_id in student_ids:
        stem = file_stem(student_id)
        candidate, n = stem, 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{stem}-{n}"
        taken.add(candidate.lower())
        stems[student_id] = candidate
    return stems


# ----------------------------------------------------------------------------------------------------------------
# Inert notebooks
# ----------------------------------------------------------------------------------------------------------------

_ACTIVE_MIME = ("application/javascript", "text/javascript", "application/x-javascript",
                "application/vnd.jupyter.widget-view+json", "application/vnd.jupyter.widget-state+json")
_HTML_MIME = ("text/html", "text/markdown", "image/svg+xml")
_TAGS = sorted(set(bleach.sanitizer.ALLOWED_TAGS) | {
    "p", "div", "span", "pre", "br", "hr", "table", "thead", "tbody", "tr", "th", "td", "img", "h1", "h2", "h3",
    "h4", "h5", "h6", "sub", "sup", "dl", "dt", "dd", "small", "details", "summary", "caption"})
_ATTRIBUTES = {"*": ["class", "title", "align"], "a": ["href", "title"], "img": ["src", "alt", "width", "height"],
               "td": ["colspan", "rowspan"], "th": ["colspan", "rowspan"]}
_PROTOCOLS = ["http", "https", "mailto", "data"]


_ACTIVE_ELEMENTS = re.compile(r"<\s*(script|style|iframe|object|embed|template)\b.*?(<\s*/\s*\1\s*>|$)",
                              re.IGNORECASE | re.DOTALL)


def inert_html(text):
    """HTML (or Markdown with HTML in it) without scripts (their text included), event handlers, styles or
    javascript: URLs."""
    if isinstance(text, list):
        text = "".join(text)
    text = _ACTIVE_ELEMENTS.sub("", _valid_unicode(text))
    return bleach.clean(text, tags=_TAGS, attributes=_ATTRIBUTES, protocols=_PROTOCOLS, strip=True,
                        strip_comments=True)


_TAG = re.compile(r"<[A-Za-z!/?]")  # a tag name follows "<" at once ("a < b" is text, in HTML and Markdown)
_SCRIPT_LINK = re.compile(r"\]\(\s*(?:javascript|vbscript|data)\s*:", re.IGNORECASE)


def inert_markdown(text):
    """Markdown whose HTML is sanitised (only when it has tags: plain Markdown such as "> a quote" or "a < b"
    stays as written) and whose links cannot run script."""
    text = _valid_unicode("".join(text) if isinstance(text, list) else text)
    if _TAG.search(text):
        text = inert_html(text)
    return _SCRIPT_LINK.sub("](#", text)


def _inert_output(output):
    data = output.get("data")
    if isinstance(data, dict):
        for mime in list(data):
            if mime in _ACTIVE_MIME or mime.endswith("javascript"):
                del data[mime]
            elif mime == "image/svg+xml":
                del data[mime]  # SVG can hold scripts; figures also come as PNG
            elif mime == "text/markdown":
                data[mime] = inert_markdown(data[mime])
            elif mime in _HTML_MIME:
                data[mime] = inert_html(data[mime])
        if not data:
            data["text/plain"] = "[active content removed by the grader]"
    return output


def _valid_tree(value):
    """Every string in a JSON-like tree made valid UTF-8 (in place for dicts and lists)."""
    if isinstance(value, str):
        return _valid_unicode(value)
    if isinstance(value, dict):
        for key in list(value):
            value[key] = _valid_tree(value[key])
        return value
    if isinstance(value, list):
        value[:] = [_valid_tree(v) for v in value]
        return value
    return value


def inert_notebook(notebook):
    """A copy of ``notebook`` that renders nothing active in formgrader, nbconvert or JupyterLab: markdown cells
    and HTML outputs sanitised, JavaScript and widget outputs removed, notebook widget state dropped, and every
    string valid UTF-8 (a lone surrogate in an error message cannot stop the writer)."""
    notebook = _valid_tree(copy.deepcopy(notebook))
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        if cell.cell_type == "raw":
            cell.source = inert_html(cell.source)
        elif cell.cell_type == "markdown":
            cell.source = inert_markdown(cell.source)
        elif cell.cell_type == "code":
            cell.outputs = [_inert_output(output) for output in cell.get("outputs", [])]
    return notebook


# ----------------------------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------------------------

def _clean_text(value):
    return printable(value) if isinstance(value, str) else value


def safe_result(result):
    """``result`` (outcomes.SubmissionResult) with every string it carries printable: valid UTF-8 and no control
    characters, so that no writer, terminal or spreadsheet can choke on one student's text."""
    import dataclasses

    tests = [dataclasses.replace(t, grade_id=_clean_text(t.grade_id), target=_clean_text(t.target),
                                 message=_clean_text(t.message)) for t in result.tests]
    errors = [type(e)(_clean_text(e.cell), _clean_text(e.problem)) if hasattr(e, "problem")
              else tuple(_clean_text(x) for x in e) for e in result.cell_errors]
    return dataclasses.replace(result, student_id=_clean_text(result.student_id), message=_clean_text(result.message),
                               flags=[_clean_text(f) for f in result.flags], tests=tests, cell_errors=errors,
                               timestamp=_clean_text(result.timestamp))
