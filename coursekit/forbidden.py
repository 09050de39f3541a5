"""Which forbidden modules or names a learner's function reaches (禁用名称), however they arrive.

An exercise may forbid *modules* (e.g. ``torch`` in a NumPy exercise, ``coursekit.gru`` where the GRU is the
exercise) and bare *names* (e.g. ``errstate`` in the stable sigmoid: silencing an overflow is not avoiding it).
A forbidden module counts when the function reaches the module itself, anything defined in it, or a parent
package that leads to it, through any of

- the globals and attributes its code names (``torch.tanh``, an alias ``import coursekit.gru as g``),
- the variables of enclosing functions (closures), its default arguments and keyword defaults,
- strings its code holds (``getattr(np, "errstate")``, ``importlib.import_module("torch")``),
- containers and simple objects it reaches (a global dict, list or namespace holding the reference's function),
- the learner's own helper functions and classes it calls, searched the same way.

What it may use: NumPy, and its own helpers, whatever their names (a learner's ``expit`` is their own function,
not SciPy's). Only functions defined outside the library paths are searched into, so NumPy's internals are never
mistaken for the learner's code.
"""

import dataclasses
import functools
import inspect
import os
import sys
import sysconfig
import types

from coursekit.i18n import N_

_CONTAINERS = (dict, list, tuple, set, frozenset)


@functools.cache
def _library_prefixes():
    paths = sysconfig.get_paths()
    return tuple(sorted({os.path.realpath(paths[key]) + os.sep
                         for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}))


def _is_learner_code(code):
    """True for code the learner wrote (a notebook cell, a file of theirs), False for installed libraries."""
    name = code.co_filename
    return not (name.startswith("<frozen") or os.path.realpath(name).startswith(_library_prefixes()))


def _is_learner_class(cls):
    """A class the learner defined (in a notebook, or a file of theirs), not one of a library or of coursekit."""
    name = getattr(cls, "__module__", "") or ""
    if name == "__main__":
        return True
    if name.startswith(("coursekit", "builtins")):
        return False
    path = getattr(sys.modules.get(name), "__file__", None)
    return bool(path) and not os.path.realpath(path).startswith(_library_prefixes())


def _origin(value):
    """The module a value comes from: its own name for a module, else its ``__module__`` ("" when unknown)."""
    if inspect.ismodule(value):
        return value.__name__
    try:
        origin = getattr(value, "__module__", None)
        if origin is None and hasattr(value, "__self__"):  # a builtin method of a module or an object
            return _origin(value.__self__)
    except Exception:  # an object whose attribute access raises is not a module
        return ""
    return origin if isinstance(origin, str) else ""


def _from_forbidden_module(value, modules):
    origin = _origin(value)
    if not origin:
        return None
    for module in modules:
        if origin == module or origin.startswith(module + "."):
            return module
        if inspect.ismodule(value) and module.startswith(origin + "."):  # a parent package leads to it
            return module
    return None


@dataclasses.dataclass
class _Search:
    modules: tuple
    names: tuple
    found: dict = dataclasses.field(default_factory=dict)  # what the learner wrote -> the forbidden module/name
    seen: set = dataclasses.field(default_factory=set)

    def value(self, label, value, depth=0):
        """Look at one value the function can reach under the name ``label``."""
        if depth > 6 or id(value) in self.seen:
            return
        self.seen.add(id(value))
        module = _from_forbidden_module(value, self.modules)
        if module:
            self.found.setdefault(label, module)
            return
        if isinstance(value, _CONTAINERS):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in list(items)[:200]:
                self.value(label, item, depth + 1)
                if isinstance(key, str) and key in self.names:
                    self.found.setdefault(label, key)
        elif isinstance(value, functools.partial):
            self.value(label, value.func, depth + 1)
            for item in (*value.args, *value.keywords.values()):
                self.value(label, item, depth + 1)
        elif inspect.ismethod(value):
            self.value(label, value.__func__, depth + 1)
            self.value(label, value.__self__, depth + 1)
        elif inspect.isfunction(value):
            # the learner's own helpers are searched too; coursekit's allowed functions (e.g. its sigmoid) are not
            if _is_learner_code(value.__code__) and not _origin(value).startswith("coursekit"):
                self.function(value, depth + 1)
        elif inspect.isclass(value):
            if not _origin(value).startswith(("builtins", "numpy", "torch", "coursekit")):
                for item in list(vars(value).values()):
                    if isinstance(item, (staticmethod, classmethod)):
                        item = item.__func__
                    if inspect.isfunction(item) or isinstance(item, property):
                        self.value(label, item.fget if isinstance(item, property) else item, depth + 1)
        elif isinstance(value, types.SimpleNamespace) or _is_learner_class(type(value)):
            attributes = getattr(value, "__dict__", None)
            if isinstance(attributes, dict):
                self.value(label, attributes, depth + 1)
            if _is_learner_class(type(value)):
                self.value(label, type(value), depth + 1)

    def function(self, fn, depth=0):
        """Everything a function's code can reach: names, closures, defaults, strings, nested code."""
        code = fn.__code__
        namespace = getattr(fn, "__globals__", {}) or {}
        closure = dict(zip(code.co_freevars, fn.__closure__ or ()))
        codes = [code]
        while codes:
            current = codes.pop()
            for name in current.co_names + current.co_freevars:
                if name in self.names:
                    self.found.setdefault(name, name)
            for const in current.co_consts:
                if hasattr(const, "co_names"):
                    codes.append(const)
                elif isinstance(const, str):
                    if const in self.names:
                        self.found.setdefault(repr(const), const)
                    for module in self.modules:
                        if const == module or const.startswith(module + "."):
                            self.found.setdefault(repr(const), module)
            for name in current.co_names:
                if name in namespace:
                    self.value(name, namespace[name], depth)
        for name, cell in closure.items():
            try:
                self.value(name, cell.cell_contents, depth)
            except ValueError:  # a closure cell that is not filled yet
                pass
        for default in (*(fn.__defaults__ or ()), *((fn.__kwdefaults__ or {}).values())):
            self.value(N_("a default argument"), default, depth)


def forbidden_reached(fn, modules=(), names=()):
    """{what the learner wrote: the forbidden module or name it reaches} for a function, class or value.

    ``modules``: dotted module names (e.g. "torch", "coursekit.gru"); ``names``: bare names refused wherever they
    appear in the code (e.g. "errstate", "settrace").
    """
    search = _Search(tuple(modules), tuple(names))
    if inspect.isfunction(fn):
        search.seen.add(id(fn))
        search.function(fn)
    else:
        search.value(getattr(fn, "__name__", N_("the target")), fn)
    return search.found
