"""Review a submission's code (代码审查): report shortcuts and attacks on the grader to the instructor.

Runs in the grader's own process, on the notebook as the grader will run it (``submission.merge``), reading the
syntax tree of every cell the learner wrote (solution cells, and any cell that is not an unchanged instructor
cell) after IPython's own translation of magics and ``!`` shell escapes, and of every ``.py`` file handed in next
to the notebook. Nothing is executed.

A finding is a :class:`Violation` of one rule. Its flag ``policy:<rule>:<where>`` goes to grades.csv for an
instructor to review. **It never costs points**: points come only from the clean rooms (autograder/cleanroom.py),
where the modules a graded function may not use are not there at all, so a finding is a question for a human
(was this an attack, or an honest habit?), not a verdict. Each rule's scope says what the finding concerns: an
``item``'s graded function, the ``cell`` it is in, or the whole ``notebook``.

The review never raises and never skips a cell silently: a cell too deep or too large to analyse is reported as
``policy:unreviewable:<cell>`` (it still runs, and is still judged only by its outputs).

What a graded function may not use (rule ``reference``) is decided per assignment (``REFERENCE``) plus each item's
own ``forbidden`` names (``coursekit.items``): in the NumPy notebooks torch and the course's reference code; in
the torch notebooks the course's reference code (torch itself is the subject). A name counts as forbidden when it
is bound by an import of a forbidden module (e.g. ``gru`` after ``from coursekit import gru``), by an instructor
assignment built from one (``rnn = torch.nn.GRU(...)``), or by a learner's helper that uses one; functions the
notebook itself defines (e.g. 05's given ``gru_forward``) and names the released exercise stub already uses are
given tools, not forbidden.
"""

import ast
import dataclasses
import difflib
import re
from pathlib import Path

from autograder.assignment import cell_kind, clean_source, grade_id

# Per assignment: modules the learner's graded code must not use ("coursekit": all of it except the helpers).
REFERENCE = {
    "01-gru-concept": (("torch", "scipy", "coursekit"), ()),
    "02-gru-numpy": (("torch", "coursekit"), ("coursekit.activations",)),
    "03-gru-backprop": (("torch", "coursekit"), ()),
    "04-torch-gru": (("coursekit",), ()),  # torch is the subject; gru_param_count forbids it (its item)
    "05-bigru": (("coursekit",), ()),  # bigru_forward forbids torch (its item) and uses the notebook's gru_forward
    "06-vanishing-gradients": (("coursekit",), ()),  # adding_problem forbids torch (its item)
    "07-parallel-gru": (("coursekit",), ("coursekit.activations",)),  # the two scan items forbid torch
}
DEFAULT_REFERENCE = (("coursekit",), ())

RULES = {  # rule: (scope, what it means)
    "reference": ("item", "the graded code uses a reference implementation or a library this exercise forbids"),
    "exit": ("cell", "the code ends the kernel process"),
    "process": ("notebook", "the code starts, forks or signals processes or threads"),
    "native-code": ("notebook", "the code loads native code (ctypes, cffi)"),
    "database": ("notebook", "the code opens a database (e.g. nbgrader's gradebook)"),
    "network": ("notebook", "the code uses the network"),
    "ipython-hooks": ("notebook", "the code changes how IPython runs code (transformers, events, shell escapes, "
                                  "magics)"),
    "tracing": ("notebook", "the code traces or inspects running code (settrace, frames, gc, inspect)"),
    "builtins": ("notebook", "the code changes Python's builtins"),
    "dynamic-code": ("notebook", "the code imports or runs code chosen at run time (__import__, importlib, eval, "
                                 "exec, sys.modules, pickle, special attributes)"),
    "monkeypatch": ("notebook", "the code replaces attributes of imported modules (e.g. "
                                "np.testing.assert_allclose)"),
    "outside-path": ("notebook", "the code uses paths outside the notebook's folder"),
    "environment": ("notebook", "the code reads the environment (e.g. NBGRADER_EXECUTION)"),
    "grading-machinery": ("notebook", "the code imports the grader's own code (coursekit.checking/checks/items, "
                                      "autograder, nbgrader)"),
    "unreviewable": ("cell", "the code is too deep or too large to analyse (it ran, and was judged by its outputs)"),
}

_MODULES = {
    **dict.fromkeys(("subprocess", "multiprocessing", "pty", "signal", "threading", "_thread", "concurrent",
                     "asyncio", "resource", "posix", "_posixsubprocess", "pexpect", "sh"), "process"),
    **dict.fromkeys(("ctypes", "_ctypes", "cffi", "mmap", "numpy.ctypeslib", "numpy.f2py",
                     "torch.utils.cpp_extension"), "native-code"),
    **dict.fromkeys(("sqlite3", "_sqlite3", "dbm", "shelve", "sqlalchemy"), "database"),
    **dict.fromkeys(("socket", "_socket", "ssl", "http", "urllib", "urllib3", "requests", "httpx", "aiohttp",
                     "ftplib", "smtplib", "poplib", "imaplib", "telnetlib", "xmlrpc", "zmq", "websocket",
                     "websockets", "paramiko"), "network"),
    **dict.fromkeys(("IPython", "ipykernel", "jupyter_client", "traitlets"), "ipython-hooks"),
    **dict.fromkeys(("gc", "inspect", "tracemalloc", "trace", "faulthandler", "pdb", "bdb"), "tracing"),
    **dict.fromkeys(("builtins", "__builtin__"), "builtins"),
    **dict.fromkeys(("importlib", "imp", "pkgutil", "runpy", "code", "codeop", "marshal", "pickle", "_pickle",
                     "dill", "cloudpickle", "zipimport", "copyreg", "__main__"), "dynamic-code"),
    **dict.fromkeys(("autograder", "nbgrader", "nbformat", "nbclient", "nbconvert", "coursekit.checking",
                     "coursekit.checks", "coursekit.items"), "grading-machinery"),
}
_ALLOWED_MODULES = ("IPython.display",)  # display(), HTML(): showing things is fine

_QUALIFIED = {  # calls and attributes, by qualified name after resolving import aliases
    **dict.fromkeys(("os._exit", "os.abort"), "exit"),
    **dict.fromkeys(("os.system", "os.popen", "os.kill", "os.wait", "os.waitpid", "os.setpgid", "os.setpgrp",
                     "os.nice"), "process"),
    **dict.fromkeys(("os.environ", "os.environb", "os.getenv", "os.getenvb", "os.putenv", "os.unsetenv"),
                    "environment"),
    **dict.fromkeys(("os.chdir", "os.chroot", "os.fchdir", "os.sep", "os.altsep", "os.pardir", "os.path.sep",
                     "os.path.pardir", "os.path.expanduser", "os.path.dirname", "pathlib.Path.home"),
                    "outside-path"),
    **dict.fromkeys(("sys.modules", "sys.meta_path", "sys.path_hooks", "sys.path_importer_cache"), "dynamic-code"),
    **dict.fromkeys(("sys.settrace", "sys.setprofile", "sys.monitoring", "sys.addaudithook", "sys._getframe",
                     "sys.exc_info", "sys.last_traceback"), "tracing"),
}

_ATTRS = {  # attribute names that are suspicious whatever object they are read from
    "_exit": "exit",
    **dict.fromkeys(("fork", "forkpty", "killpg", "posix_spawn", "posix_spawnp", "setsid", "register_at_fork",
                     "execv", "execve", "execvp", "execvpe", "execl", "execle", "execlp", "execlpe", "spawnv",
                     "spawnve", "spawnvp", "spawnvpe", "spawnl", "spawnle", "spawnlp", "spawnlpe",
                     "pidfd_open"), "process"),
    **dict.fromkeys(("settrace", "setprofile", "_getframe", "_current_frames", "addaudithook", "f_globals",
                     "f_locals", "f_back", "f_builtins", "f_code", "tb_frame", "gi_frame", "cr_frame",
                     "ag_frame"), "tracing"),
    **dict.fromkeys(("ast_transformers", "input_transformers_cleanup", "input_transformers_post",
                     "input_transformer_manager", "set_custom_exc", "register_magic_function", "user_ns",
                     "user_global_ns", "display_pub", "displayhook"), "ipython-hooks"),
    **dict.fromkeys(("meta_path", "path_hooks", "path_importer_cache", "mro", "func_globals"), "dynamic-code"),
    **dict.fromkeys(("environ", "environb", "getenv", "putenv", "unsetenv"), "environment"),
    **dict.fromkeys(("parent", "parents", "pardir", "chdir", "chroot", "expanduser"), "outside-path"),
    "ctypeslib": "native-code",
}
_DUNDERS = {"__globals__", "__builtins__", "__code__", "__closure__", "__subclasses__", "__bases__", "__base__",
            "__mro__", "__dict__", "__getattribute__", "__import__", "__loader__", "__spec__", "__self__",
            "__func__", "__wrapped__", "__reduce__", "__reduce_ex__", "__setstate__", "__defaults__",
            "__kwdefaults__", "__traceback__", "__subclasshook__", "__init_subclass__", "__set_name__"}
# Modules that reached as an attribute of another module hide an import (e.g. plt.sys.modules).
_MODULE_ATTRS = {"sys", "os", "builtins", "subprocess", "ctypes", "importlib", "gc", "inspect", "socket",
                 "sqlite3", "torch", "coursekit", "pickle", "signal", "threading"}
_NAMES = {
    **dict.fromkeys(("__import__", "eval", "exec", "compile", "globals", "locals", "vars", "breakpoint",
                     "__loader__", "__spec__"), "dynamic-code"),
    "__builtins__": "builtins",
    **dict.fromkeys(("exit", "quit"), "exit"),
}
_SAFE_MAGICS = {"matplotlib", "time", "timeit", "precision", "pprint", "who", "whos", "pinfo", "pinfo2",
                "capture"}
_MAGIC_OPTIONS = re.compile(r"^\s*(?:-[A-Za-z](?:\s*\d+)?\s+)*")
_ABSOLUTE = re.compile(r"^(/[^\s/]|~)\S*$")
_PARENT = re.compile(r"(^|[/\\])\.\.([/\\]|$)")
_GRADER_VARIABLE = re.compile(r"(NBGRADER|AUTOGRADER|JPY|JUPYTER)_[A-Z]")  # e.g. NBGRADER_EXECUTION


@dataclasses.dataclass(frozen=True)
class Violation:
    """One finding: ``rule`` (see RULES), the cell, file or item it is about, what was found, and the items whose
    graded code it concerns (for the instructor; it changes no score)."""

    rule: str
    where: str
    detail: str
    items: tuple

    @property
    def flag(self):
        return f"policy:{self.rule}:{self.where}"

    @property
    def message(self):
        return f"{RULES[self.rule][1]}: {self.detail} (flag {self.flag}, for an instructor to review)"


# ----------------------------------------------------------------------------------------------------------------
# Parsing
# ----------------------------------------------------------------------------------------------------------------

def python_source(source):
    """The Python that IPython runs for cell ``source`` (magics and shell escapes become get_ipython() calls)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(source)
    except Exception:
        return source


def parse(source):
    """The cell's syntax tree, or None when it does not parse (it will fail when it runs)."""
    try:
        return ast.parse(python_source(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _constant_str(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _magic_code(call):
    """The code inside a whitelisted %time/%%time/%timeit/%%capture magic call (also reviewed), or None."""
    name = _constant_str(call.args[0]) if call.args else None
    if call.func.attr == "run_line_magic" and name in ("time", "timeit") and len(call.args) > 1:
        line = _constant_str(call.args[1])  # "%timeit -n1 -r1 f(x)": the options go, the statement stays
        return _MAGIC_OPTIONS.sub("", line) if line is not None else None
    if call.func.attr == "run_cell_magic" and name in ("time", "timeit", "capture") and len(call.args) > 2:
        return _constant_str(call.args[2])
    return None


def _is_safe_magic(call):
    return (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and call.func.attr in ("run_line_magic", "run_cell_magic")
            and isinstance(call.func.value, ast.Call) and isinstance(call.func.value.func, ast.Name)
            and call.func.value.func.id == "get_ipython" and call.args
            and _constant_str(call.args[0]) in _SAFE_MAGICS)


def _docstrings(tree):
    """ids of the docstring nodes (their text is prose, not paths)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and _constant_str(first.value) is not None:
                found.add(id(first.value))
    return found


def import_aliases(trees):
    """name -> qualified name for every name an import statement binds (``np`` -> "numpy", ``gru`` ->
    "coursekit.gru", ``coursekit`` -> "coursekit" after ``import coursekit.activations``)."""
    aliases = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        aliases[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        aliases[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    if alias.name != "*":
                        aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def qualified(node, aliases):
    """"numpy.testing.assert_allclose" for ``np.testing.assert_allclose`` (a Name or Attribute chain), or None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([aliases.get(node.id, node.id), *reversed(parts)])


def _root_name(node):
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _matches(name, prefixes):
    return any(name == p or name.startswith(p + ".") for p in prefixes)


# ----------------------------------------------------------------------------------------------------------------
# Notebook rules: attacks on the grader, the machine, other students
# ----------------------------------------------------------------------------------------------------------------

class _Finder(ast.NodeVisitor):
    """Collects (rule, detail) for one learner-written cell."""

    def __init__(self, aliases, docstrings):
        self.aliases, self.docstrings, self.found = aliases, docstrings, []
        self.called = set()  # ids of nodes in call position
        self.fragments = set()  # ids of f-string pieces after a {field}: f"{rate:.0f}/s" starts no path

    def add(self, rule, detail):
        if (rule, detail) not in self.found:
            self.found.append((rule, detail))

    def module(self, name):
        if _matches(name, _ALLOWED_MODULES):
            return
        for prefix, rule in _MODULES.items():
            if _matches(name, (prefix,)):
                self.add(rule, f"import {name}")
                return
        if name in _QUALIFIED:
            self.add(_QUALIFIED[name], f"import {name}")

    def visit_Import(self, node):
        for alias in node.names:
            self.module(alias.name)
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        if node.level:
            self.add("dynamic-code", "a relative import")
        elif node.module:
            self.module(node.module)
            for alias in node.names:
                if alias.name == "*":
                    self.add("dynamic-code", f"from {node.module} import *")
                else:
                    self.module(f"{node.module}.{alias.name}")
                    if alias.name in _ATTRS:
                        self.add(_ATTRS[alias.name], f"from {node.module} import {alias.name}")
        self.generic_visit(node)

    def visit_Call(self, node):
        self.called.add(id(node.func))
        func = node.func
        if _is_safe_magic(node):
            code = _magic_code(node)
            if code is not None:
                tree = parse(code)
                if tree is not None:
                    self.visit(tree)
            for arg in node.args[1:]:
                self.visit(arg)
            return
        if isinstance(func, ast.Name) and func.id in ("getattr", "setattr", "delattr", "hasattr"):
            name = _constant_str(node.args[1]) if len(node.args) > 1 else None
            if name is None:
                self.add("dynamic-code", f"{func.id}() with a computed attribute name")
            else:
                self.attribute_name(name, f"{func.id}(..., {name!r})")
                root = _root_name(node.args[0]) if node.args else None
                if func.id in ("setattr", "delattr") and root in self.aliases:
                    self.add("monkeypatch", f"{func.id}({ast.unparse(node.args[0])}, {name!r}, ...)")
        for keyword in node.keywords:
            if keyword.arg == "allow_pickle" and not (isinstance(keyword.value, ast.Constant)
                                                      and keyword.value.value is False):
                self.add("dynamic-code", "allow_pickle=True (unpickling runs code)")
        self.generic_visit(node)

    def attribute_name(self, attr, shown):
        if attr in _ATTRS:
            self.add(_ATTRS[attr], shown)
        elif attr in _DUNDERS:
            self.add("dynamic-code", shown)

    def visit_Attribute(self, node):
        name = qualified(node, self.aliases)
        if name is not None and name in _QUALIFIED:
            self.add(_QUALIFIED[name], name)
        elif name is not None and any(name.startswith(q + ".") for q in _QUALIFIED):
            pass  # reported for the shorter name when its node is visited
        self.attribute_name(node.attr, ast.unparse(node) if len(ast.unparse(node)) < 80 else node.attr)
        if node.attr == "modules" and id(node) not in self.called:
            self.add("dynamic-code", ast.unparse(node)[:80])
        if node.attr in _MODULE_ATTRS and _root_name(node.value) in self.aliases:
            self.add("dynamic-code", f"{ast.unparse(node)[:80]} (a module reached through another module)")
        if isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name) \
                and node.value.func.id == "get_ipython":
            self.add("ipython-hooks", f"get_ipython().{node.attr}")
        if isinstance(node.ctx, (ast.Store, ast.Del)) and _root_name(node) in self.aliases:
            self.add("monkeypatch", f"{ast.unparse(node)[:80]} = ...")
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in _NAMES:
            self.add(_NAMES[node.id], node.id)
        if node.id == "get_ipython" and id(node) not in self.called:
            self.add("ipython-hooks", "get_ipython")
        if node.id in self.aliases and self.aliases[node.id] in ("builtins", "__builtin__"):
            self.add("builtins", node.id)

    def visit_JoinedStr(self, node):
        self.fragments |= {id(value) for value in node.values[1:] if isinstance(value, ast.Constant)}
        self.generic_visit(node)

    def visit_Constant(self, node):
        text = node.value.decode("latin-1") if isinstance(node.value, bytes) else node.value
        if not isinstance(text, str) or id(node) in self.docstrings or len(text) > 4096:
            return
        if (_ABSOLUTE.match(text) and id(node) not in self.fragments) or _PARENT.search(text):
            self.add("outside-path", repr(text[:80]))
        if _GRADER_VARIABLE.search(text):
            self.add("environment", repr(text[:80]))
        if "gradebook" in text.lower() or text.lower().endswith((".db", ".sqlite")):
            self.add("database", repr(text[:80]))


def _standalone_get_ipython(tree):
    """get_ipython() calls that are not a whitelisted magic (those are reviewed by content)."""
    safe = {id(node.func.value) for node in ast.walk(tree) if _is_safe_magic(node)}
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "get_ipython" and id(node) not in safe]


def cell_findings(tree, aliases):
    """(rule, detail) pairs of the notebook-level and cell-level rules in one learner-written cell."""
    finder = _Finder(aliases, _docstrings(tree))
    finder.visit(tree)
    if _standalone_get_ipython(tree) and not any(rule == "ipython-hooks" for rule, _ in finder.found):
        finder.add("ipython-hooks", "get_ipython()")
    return finder.found


# ----------------------------------------------------------------------------------------------------------------
# The reference rule: what a graded function (or value) is built from
# ----------------------------------------------------------------------------------------------------------------

def _bound_names(node):
    """Names a top-level statement binds in the notebook's namespace."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    names = set()
    targets = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target]
    elif isinstance(node, (ast.For, ast.AsyncFor)):
        targets = [node.target]
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        targets = [item.optional_vars for item in node.items if item.optional_vars is not None]
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        return {alias.asname or alias.name.split(".")[0] for alias in node.names if alias.name != "*"}
    for target in targets:
        for sub in ast.walk(target):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.add(sub.id)
    return names


def _statements(tree):
    """Top-level statements, looking inside if/try/with/for blocks (their bindings are global too)."""
    for node in tree.body:
        yield node
        if isinstance(node, (ast.If, ast.Try, ast.For, ast.While, ast.With)):
            inner = ast.Module(body=[*getattr(node, "body", []), *getattr(node, "orelse", []),
                                     *getattr(node, "finalbody", []),
                                     *[s for h in getattr(node, "handlers", []) for s in h.body]], type_ignores=[])
            yield from _statements(inner)


def _local_names(node):
    """Parameters and assigned names inside a function/lambda/comprehension subtree (not global lookups)."""
    local = set()
    for sub in ast.walk(node):
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = sub.args
            local |= {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
            local |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            local.add(sub.id)
        elif isinstance(sub, ast.Global):
            local -= set(sub.names)
    return local


def used_names(node):
    """(global names, attribute names) a statement reads; for a def or class, without its own locals."""
    loads, attrs = set(), set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
            loads.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            attrs.add(sub.attr)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
        loads -= _local_names(node) - ({node.name} if hasattr(node, "name") else set())
    else:
        loads -= {n for sub in ast.walk(node) if isinstance(sub, (ast.Lambda, ast.ListComp, ast.SetComp,
                                                                  ast.DictComp, ast.GeneratorExp))
                  for n in _local_names(sub)}
    return loads, attrs


def _imports_in(node):
    names = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Import):
            names += [alias.name for alias in sub.names]
        elif isinstance(sub, ast.ImportFrom) and sub.module and not sub.level:
            names += [sub.module] + [f"{sub.module}.{alias.name}" for alias in sub.names]
    return names


class _Reference:
    """The reference rule of one item: forbidden modules/names and the notebook names that carry them."""

    def __init__(self, assignment_name, item):
        modules, helpers = REFERENCE.get(assignment_name, DEFAULT_REFERENCE)
        self.modules = tuple(dict.fromkeys([*modules, *item.forbidden]))
        self.helpers = tuple(h for h in helpers if not _matches(h, tuple(item.forbidden)))
        self.names = {f for f in item.forbidden if "." not in f}  # bare names, e.g. "torch", "settrace", "expit"
        self.item = item

    def module_forbidden(self, name):
        if _matches(name, self.helpers):
            return False
        # a forbidden module, something in it, or a package that leads to one (``import coursekit.activations``
        # binds ``coursekit``, and ``coursekit.gru`` is then one attribute away)
        return _matches(name, self.modules) or any(m.startswith(name + ".") for m in self.modules)

    def tainted(self, instructor, learner):
        """Names in the notebook's namespace that carry forbidden code (see the module docstring)."""
        bad = set()
        for cells, follow_defs in ((instructor, False), (learner, True)):
            for tree in cells:
                for node in _statements(tree):
                    if isinstance(node, ast.Import):
                        bad |= {(a.asname or a.name.split(".")[0]) for a in node.names
                                if self.module_forbidden(a.name if a.asname else a.name.split(".")[0])}
                    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                        bad |= {(a.asname or a.name) for a in node.names
                                if self.module_forbidden(f"{node.module}.{a.name}")}
        changed = True
        while changed:  # bindings built from tainted names are tainted (instructor defs and classes excepted)
            changed = False
            for cells, follow_defs in ((instructor, False), (learner, True)):
                for tree in cells:
                    for node in _statements(tree):
                        if isinstance(node, (ast.Import, ast.ImportFrom)):
                            continue
                        if not follow_defs and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                 ast.ClassDef)):
                            continue
                        names = _bound_names(node) - bad
                        if names and self.uses(node, bad):
                            bad |= names
                            changed = True
        return bad

    def uses(self, node, bad, allowed=frozenset()):
        """What ``node`` uses that is forbidden (a sorted list; empty when nothing)."""
        loads, attrs = used_names(node)
        found = {n for n in loads if (n in bad or n in self.names) and n not in allowed}
        found |= {a for a in attrs if a in self.names and a not in allowed}
        found |= {f"import {m}" for m in _imports_in(node) if self.module_forbidden(m)}
        return sorted(found)


# ----------------------------------------------------------------------------------------------------------------
# The review of one submission
# ----------------------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class _Cell:
    label: str
    tree: ast.Module
    learner: bool
    kind: str  # cell_kind of the instructor cell it stands for, "free" for the learner's own cells
    stub: ast.Module | None  # the released version of a solution cell (its names are given tools)
    baseline: ast.Module | None = None  # the instructor cell a learner edited: what it already did is no finding


def _cells(assignment, merged):
    instructor_free = assignment.free_sources()  # in every edition (English, Chinese...)
    free_sources = sorted(instructor_free)
    cells = []
    for position, (cell, origin) in enumerate(zip(merged.notebook.cells, merged.origin)):
        if cell.cell_type != "code":
            continue
        tree = parse(cell.source)
        if tree is None:
            continue
        kind = cell_kind(assignment.notebook.cells[origin]) if origin is not None else "free"
        learner = kind == "solution" or (origin is None and clean_source(cell.source) not in instructor_free)
        stub = parse(assignment.released[origin].source) if origin is not None and kind == "solution" else None
        label = grade_id(cell) or cell.get("id") or f"cell-{position}"
        baseline = stub
        if learner and origin is None and free_sources:  # an edited instructor cell keeps what it had
            closest = max(free_sources, key=lambda text: difflib.SequenceMatcher(None, text, cell.source).ratio())
            if difflib.SequenceMatcher(None, closest, cell.source).ratio() > 0.6:
                baseline = parse(closest)
        cells.append(_Cell(label, tree, learner, kind, stub, baseline))
    return cells


def _targets_bound(tree, targets):
    return {name for node in _statements(tree) for name in _bound_names(node) if name in targets}


def _too_deep(source):
    """True when a cell's code is valid Python that the review cannot analyse (too deep or too large)."""
    code = python_source(source)
    try:
        ast.parse(code)
        return False
    except (RecursionError, MemoryError):
        return True
    except (SyntaxError, ValueError):
        return False  # it will fail when it runs; nothing to review


def _file_findings(folder, aliases):
    """Violations in the ``.py`` files handed in next to the notebook (helpers run by the learner's code)."""
    found = []
    for path in sorted(Path(folder).rglob("*.py")) if folder else []:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 2 * 2**20:
            continue
        label = path.relative_to(folder).as_posix()
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
            found += [Violation(rule, label, detail, ()) for rule, detail in cell_findings(tree, aliases)]
        except (RecursionError, MemoryError):
            found.append(Violation("unreviewable", label, "too deep or too large to analyse", ()))
        except (SyntaxError, ValueError):
            continue
    return found


def review(assignment, merged, extra_files_dir=None):
    """The policy findings of a merged submission (``submission.merge``), in notebook order, then those of the
    ``.py`` files in ``extra_files_dir``. Findings are flags for the instructor; they never cost points."""
    findings = []
    for cell in merged.notebook.cells:
        if cell.cell_type == "code" and _too_deep(cell.source):
            findings.append(Violation("unreviewable", grade_id(cell) or cell.get("id") or "?",
                                      "too deep or too large to analyse", ()))
    try:
        findings += _review_cells(assignment, merged)
    except (RecursionError, MemoryError):
        findings.append(Violation("unreviewable", "notebook", "too deep or too large to analyse", ()))
    try:
        findings += _file_findings(extra_files_dir, {})
    except (RecursionError, MemoryError):
        findings.append(Violation("unreviewable", "files", "too deep or too large to analyse", ()))
    return findings


def _review_cells(assignment, merged):
    cells = _cells(assignment, merged)
    aliases = import_aliases([cell.tree for cell in cells])
    by_target = {item.target: gid for gid, item in assignment.tests.items()}
    everything = tuple(assignment.tests)
    violations = []

    for cell in cells:
        if not cell.learner:
            continue
        defined = _targets_bound(cell.tree, by_target) | ({cell.label} & set(by_target))
        known = set(cell_findings(cell.baseline, aliases)) if cell.baseline is not None else set()
        for rule, detail in cell_findings(cell.tree, aliases):
            if (rule, detail) in known:
                continue
            scope = RULES[rule][0]
            items = everything if scope == "notebook" else tuple(by_target[t] for t in sorted(defined))
            violations.append(Violation(rule, cell.label, detail, items))

    instructor = [cell.tree for cell in cells if not cell.learner]
    learner = [cell for cell in cells if cell.learner]
    for gid, item in assignment.tests.items():
        rule = _Reference(assignment.name, item)
        bad = rule.tainted(instructor, [cell.tree for cell in learner])
        for cell in learner:
            allowed = set()
            if cell.stub is not None:
                loads, attrs = used_names(cell.stub)
                allowed = (loads | attrs) - {item.target}
            found = []
            for node in _statements(cell.tree):
                if item.target in _bound_names(node):
                    found += rule.uses(node, bad, allowed)
            if cell.kind == "solution" and item.target in (_targets_bound(cell.tree, {item.target}) | {cell.label}):
                found += [f"import {m}" for m in _imports_in(cell.tree) if rule.module_forbidden(m)]
            if found:
                found = sorted(set(found))
                violations.append(Violation("reference", gid, f"{item.target} uses {', '.join(found)}", (gid,)))
                break
    return violations


def describe_rules():
    """The rules and the per-assignment reference table, as Markdown (for the README)."""
    lines = ["| rule | scope | meaning |", "|---|---|---|"]
    lines += [f"| `{rule}` | {scope} | {meaning} |" for rule, (scope, meaning) in RULES.items()]
    lines += ["", "| assignment | modules the graded code may not use | helpers it may use |", "|---|---|---|"]
    lines += [f"| {name} | {', '.join(modules)} | {', '.join(helpers) or '-'} |"
              for name, (modules, helpers) in REFERENCE.items()]
    return "\n".join(lines)
