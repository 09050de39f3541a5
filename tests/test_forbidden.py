"""coursekit.forbidden: forbidden modules and names are found however they arrive; the learner's own helpers, and
allowed coursekit functions, are not refused."""

import functools
import types

import numpy as np
import torch

import coursekit.gru as reference_gru
from coursekit.activations import sigmoid as course_sigmoid
from coursekit.forbidden import forbidden_reached

MODULES, NAMES = ("torch", "coursekit.gru"), ("errstate",)
TABLE = {"cell": reference_gru.cell_forward}
SPACE = types.SimpleNamespace(cell=reference_gru.cell_forward)
PARTIAL = functools.partial(reference_gru.cell_forward)


def expit(x):  # the learner's own helper, with SciPy's name
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def uses_torch_in_a_helper(x):
    return _torch_helper(x)


def _torch_helper(x):
    return torch.sigmoid(torch.from_numpy(x)).numpy()


def _closure():
    run = reference_gru.forward

    def inner(x):
        return run(x)
    return inner


def _method():
    class Learner:
        def step(self, x):
            return torch.tanh(x)
    helper = Learner()

    def uses_method(x):
        return helper.step(x)
    return uses_method


FOUND = {
    "a global module": lambda x: torch.tanh(x),
    "a default argument": lambda x, f=reference_gru.cell_forward: f(x),
    "a keyword default": eval("lambda x, *, f=None: f(x)", {}),  # replaced below
    "a closure": _closure(),
    "a dict": lambda x: TABLE["cell"](x),
    "a namespace's attribute": lambda x: SPACE.cell(x),
    "a partial": lambda x: PARTIAL(x),
    "a string for getattr": lambda x: getattr(np, "errstate"),
    "a string for __import__": lambda x: __import__("torch"),
    "the learner's helper": uses_torch_in_a_helper,
    "a method of the learner's object": _method(),
    "a bare name": lambda x: np.errstate(over="ignore"),
}
FOUND["a keyword default"].__kwdefaults__ = {"f": reference_gru.cell_forward}


def test_forbidden_things_are_found_however_they_arrive():
    for label, fn in FOUND.items():
        assert forbidden_reached(fn, MODULES, NAMES), label


def test_own_helpers_and_allowed_functions_are_accepted():
    for fn in (lambda x: expit(x), lambda x: course_sigmoid(x), lambda x, f=np.tanh: f(x), lambda x: np.square(x)):
        assert forbidden_reached(fn, MODULES, NAMES) == {}
