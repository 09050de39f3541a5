"""The learner's side of a check (学习者一侧): call the learner's function on given inputs, keep only plain data.

This module is the only part of the checking machinery that the grader's *clean room* holds (the process where
graded functions run, see autograder/README.md). It must never be able to compute or judge an answer: it imports
nothing of coursekit's reference code (gru, rnn, lstm, scan, items, checking...), only NumPy, and torch lazily for
the invokers of the torch exercises. Everything here can be replaced by a learner inside their own process; that
changes at most what their own function appears to return, which the grader then judges.

The protocol, in plain data (dicts with str keys, tuples, NumPy arrays, numbers, str, None; see :func:`pack`):

- a request: ``{"target": name, "call": bool, "calls": (Invocation.as_plain(), ...)}``, one invocation per case;
- a result: ``{"missing": bool, "outcomes": (outcome, ...)}``, one outcome per invocation, each
  ``{"output", "error", "modified_input", "warnings", "measures"}`` (see :func:`call_learner`).

Invokers are named functions of this module (:data:`INVOKERS`) for targets that are not called with the case's
arrays as they are: torch tensors instead of arrays, a torch module built from given weights, a learner's class
built and run, a call whose Python lines are counted.
"""

import dataclasses
import io
import json
import os
import sys
import sysconfig
import warnings

import numpy as np


@dataclasses.dataclass(frozen=True)
class Invocation:
    """How to call the learner's target for one case: ``invoker(target, *args)``, or ``target(*args)``.

    ``args`` are plain data; ``invoker`` names an entry of :data:`INVOKERS` (None: call the target directly).
    """

    args: tuple
    invoker: str | None = None

    def as_plain(self):
        return {"args": tuple(self.args), "invoker": self.invoker}

    @classmethod
    def from_plain(cls, data):
        if not isinstance(data, dict) or not isinstance(data.get("args"), tuple):
            raise TypeError("an invocation is {'args': tuple, 'invoker': str or None}")
        invoker = data.get("invoker")
        if invoker is not None and invoker not in INVOKERS:
            raise TypeError(f"unknown invoker {invoker!r}")
        return cls(data["args"], invoker)


# ----------------------------------------------------------------------------------------------------------------
# Plain data: copies, comparison, conversion of what the learner returned
# ----------------------------------------------------------------------------------------------------------------

def copy_value(value):
    """A deep copy of plain data (arrays copied, containers rebuilt)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: copy_value(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(copy_value(v) for v in value)
    return value


def same_value(a, b):
    """Exact equality of two plain-data trees (used to detect in-place modification of inputs)."""
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return isinstance(b, (tuple, list)) and len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


_SCALARS = (bool, int, float, np.float64, np.float32, np.float16, np.int64, np.int32, np.int16, np.int8,
            np.uint8, np.bool_)


def to_plain(value):
    """The learner's output as plain data: float/int/bool, NumPy arrays of numbers, tuples and str-keyed dicts.

    Torch tensors become arrays (keeping their dtype). A dict subclass (e.g. ``collections.defaultdict``) becomes
    a dict. Anything else (objects with a custom __eq__, strings, None...) raises TypeError: a grade must never
    depend on an object the learner controls.
    """
    if type(value) in _SCALARS:
        return value.item() if isinstance(value, np.generic) else value
    if type(value) is np.ndarray:
        if value.dtype.kind not in "biuf":
            raise TypeError(f"returned an array of dtype {value.dtype}; expected numbers")
        return np.array(value, copy=True)
    if type(value) in (tuple, list):
        return tuple(to_plain(v) for v in value)
    if isinstance(value, dict) and all(type(k) is str for k in value):
        return {k: to_plain(v) for k, v in dict.items(value)}
    if type(value).__module__.startswith("torch") and type(value).__name__ in ("Tensor", "Parameter"):
        return to_plain(value.detach().cpu().numpy())
    raise TypeError(f"returned a {type(value).__name__}; expected a NumPy array, a number, or a tuple of them")


# ----------------------------------------------------------------------------------------------------------------
# Invokers: targets that are not plain functions of arrays
# ----------------------------------------------------------------------------------------------------------------

def _tensor(array):
    import torch

    return torch.from_numpy(array)  # shares memory with the case's copy: an in-place change is still detected


def _tensor_snapshot(tensors):
    return [(tuple(t.shape), t.detach().clone()) for t in tensors]


def _tensors_changed(tensors, before):
    """Whether a tensor the learner was given changed shape or values (e.g. ``h_n.resize_()``, ``xs.add_(1)``):
    a shrinking resize_ keeps the NumPy copy as it was, so the input check on the arrays alone misses it."""
    import torch

    return any(tuple(t.shape) != shape or not torch.equal(t.detach(), values)
               for t, (shape, values) in zip(tensors, before))


def invoke_with_tensors(fn, *args):
    """``fn`` gets every top-level array argument as a torch tensor (e.g. h_n as nn.GRU returns it); the measure
    ``tensor_args_changed`` records whether it changed one of them."""
    args = tuple(_tensor(a) if isinstance(a, np.ndarray) else a for a in args)
    tensors = [a for a in args if not isinstance(a, (int, float, bool, str, type(None), tuple, dict))]
    before = _tensor_snapshot(tensors)
    output = fn(*args)
    return Measured(output, tensor_args_changed=int(_tensors_changed(tensors, before)))


RECURRENT_WEIGHTS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def recurrent_module(kind, weights, dtype):
    """An nn.RNN / nn.LSTM / nn.GRU (``kind`` "rnn", "lstm", "gru") of ``dtype`` holding the given weights.

    Built under ``torch.random.fork_rng`` so that grading does not disturb the learner's random state.
    """
    import torch

    classes = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
    I, H = weights["weight_ih_l0"].shape[1], weights["weight_hh_l0"].shape[1]
    with torch.random.fork_rng(devices=[]):
        model = classes[kind](I, H, dtype=dtype)
    load_weights(model, weights)
    return model


def load_weights(module, weights):
    """Copy named arrays into a torch module's parameters of the same names (no gradient recorded)."""
    import torch

    with torch.no_grad():
        for name, value in weights.items():
            getattr(module, name).copy_(torch.from_numpy(value))


def invoke_on_recurrent_module(fn, kind, weights, xs):
    """``fn(model, xs)`` with the module built from plain weights and xs as a tensor (notebook 06)."""
    import torch

    dtype = torch.float32 if xs.dtype == np.float32 else torch.float64
    tensor = _tensor(xs)
    before = _tensor_snapshot([tensor])
    output = fn(recurrent_module(kind, weights, dtype), tensor)
    return Measured(output, tensor_args_changed=int(_tensors_changed([tensor], before)))


def invoke_classifier(cls, input_size, hidden_size, num_classes, gru_weights, W_out, b_out, x):
    """Build the learner's ``cls(input_size, hidden_size, num_classes)``, load the case's weights, return logits.

    The module is found by type (exactly one nn.GRU and one nn.Linear and no other parameters), so the learner may
    name attributes freely; the weights come from the case and are loaded after construction, so only a forward
    pass that really computes GRU -> final hidden state -> linear gives the grader's logits. Construction is seeded
    inside ``torch.random.fork_rng``: deterministic, and the learner's random state is left alone.
    """
    import torch
    from torch import nn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = cls(input_size, hidden_size, num_classes)
    if not isinstance(model, nn.Module):
        raise TypeError(f"{cls.__name__}(...) built a {type(model).__name__}; it should subclass nn.Module")
    grus = [m for m in model.modules() if isinstance(m, nn.GRU)]
    heads = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if len(grus) != 1 or len(heads) != 1:
        raise ValueError(f"the classifier should hold exactly one nn.GRU and one nn.Linear; it holds {len(grus)} "
                         f"nn.GRU and {len(heads)} nn.Linear")
    recurrent, head = grus[0], heads[0]
    expected = (input_size, hidden_size, 1, False, True)
    found = (recurrent.input_size, recurrent.hidden_size, recurrent.num_layers, recurrent.bidirectional,
             recurrent.bias)
    if found != expected:
        raise ValueError(f"its nn.GRU has (input_size, hidden_size, num_layers, bidirectional, bias) = {found}; "
                         f"expected {expected}")
    if (head.in_features, head.out_features) != (hidden_size, num_classes) or head.bias is None:
        raise ValueError(f"its nn.Linear is ({head.in_features} -> {head.out_features}); expected "
                         f"({hidden_size} -> {num_classes}) with a bias")
    known = {id(p) for p in (*recurrent.parameters(), *head.parameters())}
    extra = [name for name, p in model.named_parameters() if id(p) not in known]
    if extra:
        raise ValueError(f"the classifier has parameters besides its nn.GRU and nn.Linear: {extra}")
    load_weights(recurrent, gru_weights)
    load_weights(head, {"weight": W_out, "bias": b_out})
    model.eval()
    with torch.no_grad():
        return model(_tensor(x))


def _library_prefixes():
    paths = sysconfig.get_paths()
    return tuple(sorted({os.path.realpath(paths[key]) + os.sep
                         for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}))


def count_python_lines(fn, *args, **kwargs):
    """Call ``fn(*args, **kwargs)`` and count the lines of Python it executes; return (result, lines).

    Lines in NumPy, torch and the standard library (everything installed under Python's library paths) are not
    counted: a vectorised NumPy operation is one line however long the array, while a Python loop over T time steps
    runs at least T lines. So the count tells a scan (O(log T) passes) from a loop over time. It cannot see inside C
    code: ``np.cumsum`` runs sequentially in C and counts as one line. Notebook 07 uses it, and so does its grader.

    Uses ``sys.settrace`` for the duration of the call (an active debugger's tracer is restored afterwards).
    """
    library = _library_prefixes()
    decisions = {}  # code object -> whether its lines count
    lines = 0

    def counts(code):
        if code not in decisions:
            name = code.co_filename
            decisions[code] = not (name.startswith("<frozen") or os.path.realpath(name).startswith(library))
        return decisions[code]

    def local(frame, event, arg):
        nonlocal lines
        if event == "line":
            lines += 1
        return local

    def on_call(frame, event, arg):
        return local if counts(frame.f_code) else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        result = fn(*args, **kwargs)
    finally:
        sys.settrace(previous)
    return result, lines


class Measured:
    """An invoker's output together with measurements of the call (e.g. its lines of Python)."""

    def __init__(self, output, **measures):
        self.output, self.measures = output, measures


def invoke_counting_lines(fn, *args):
    """``fn(*args)``, its lines of Python recorded as the measure ``python_lines`` (notebook 07's scans)."""
    output, lines = count_python_lines(fn, *args)
    return Measured(output, python_lines=lines)


class Traced:
    """A number that knows the length of the longest chain of operations that produced it (its *depth*).

    Arrays of Traced numbers (dtype object) go through NumPy's arithmetic element by element, so the depth of
    every output entry is the sequential depth of the work behind it, whatever runs it: a Python loop, a C loop
    (``itertools.accumulate`` of 2x2 matrices) or vectorised passes. A scan over T steps has depth O(log T), any
    sequential evaluation depth T. Nothing is timed.
    """

    __slots__ = ("value", "depth")

    def __init__(self, value, depth=0):
        self.value, self.depth = float(value), depth

    @staticmethod
    def _parts(other):
        return (other.value, other.depth) if isinstance(other, Traced) else (float(other), 0)

    def _binary(self, other, op, swap=False):
        value, depth = self._parts(other)
        a, b = (value, self.value) if swap else (self.value, value)
        return Traced(op(a, b), max(self.depth, depth) + 1)

    def __add__(self, other):
        return self._binary(other, float.__add__)

    def __radd__(self, other):
        return self._binary(other, float.__add__, swap=True)

    def __sub__(self, other):
        return self._binary(other, float.__sub__)

    def __rsub__(self, other):
        return self._binary(other, float.__sub__, swap=True)

    def __mul__(self, other):
        return self._binary(other, float.__mul__)

    def __rmul__(self, other):
        return self._binary(other, float.__mul__, swap=True)

    def __truediv__(self, other):
        return self._binary(other, lambda a, b: a / b if b else float("nan"))

    def __rtruediv__(self, other):
        return self._binary(other, lambda a, b: a / b if b else float("nan"), swap=True)

    def __neg__(self):
        return Traced(-self.value, self.depth + 1)

    def __pos__(self):
        return self

    def __abs__(self):
        return Traced(abs(self.value), self.depth + 1)

    def __float__(self):
        return self.value

    def _compare(self, other, op):
        return op(self.value, self._parts(other)[0])

    def __lt__(self, other):
        return self._compare(other, float.__lt__)

    def __le__(self, other):
        return self._compare(other, float.__le__)

    def __gt__(self, other):
        return self._compare(other, float.__gt__)

    def __ge__(self, other):
        return self._compare(other, float.__ge__)

    def __eq__(self, other):
        return self._compare(other, float.__eq__)

    def __hash__(self):
        return hash(self.value)

    def __bool__(self):
        return bool(self.value)


def _traced(array):
    traced = np.empty(array.shape, dtype=object)
    for index in np.ndindex(array.shape):
        traced[index] = Traced(array[index])
    return traced


def sequential_depth(value):
    """The largest depth of the Traced numbers in an output (-1 when it holds none: the tracking was lost)."""
    depths = [v.depth for v in np.asarray(value, dtype=object).ravel() if isinstance(v, Traced)]
    return max(depths) if depths else -1


def invoke_measuring_depth(fn, *args):
    """``fn`` on the case's arrays as arrays of :class:`Traced` numbers; the output comes back as floats with the
    measure ``sequential_depth`` (-1 when the function turned the numbers into plain floats)."""
    output = fn(*(_traced(a) if isinstance(a, np.ndarray) else a for a in args))
    depth = sequential_depth(output)
    plain = np.vectorize(float, otypes=[np.float64])(np.asarray(output, dtype=object))
    return Measured(plain, sequential_depth=depth)


def invoke_scan(fn, *args):
    """A scan's call: its lines of Python counted (``python_lines``) and, for short sequences, a second call on
    Traced numbers measuring the ``sequential_depth`` of its work (-1 when unmeasured)."""
    output, lines = count_python_lines(fn, *args)
    depth = -1
    if np.shape(args[0])[0] <= 512 and np.size(args[0]) <= 4096:
        try:
            depth = invoke_measuring_depth(fn, *copy_value(tuple(args))).measures["sequential_depth"]
        except Exception:  # code that needs real floats (e.g. np.exp) cannot be traced: the line count remains
            depth = -1
    return Measured(output, python_lines=lines, sequential_depth=depth)


INVOKERS = {
    "scan": invoke_scan,
    "depth": invoke_measuring_depth,
    "tensors": invoke_with_tensors,
    "recurrent_module": invoke_on_recurrent_module,
    "classifier": invoke_classifier,
    "count_lines": invoke_counting_lines,
}


# ----------------------------------------------------------------------------------------------------------------
# Calling the learner
# ----------------------------------------------------------------------------------------------------------------

def _call(target, invocation, call):
    if not call:
        return target
    if invocation.invoker is None:
        return target(*invocation.args)
    return INVOKERS[invocation.invoker](target, *invocation.args)


def _holds_tensor(value):
    """Whether an output is, or holds, a torch tensor (recorded: some exercises ask for NumPy arrays)."""
    if isinstance(value, (tuple, list)):
        return any(_holds_tensor(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_tensor(v) for v in value.values())
    return type(value).__module__.startswith("torch")


def call_directly(target, invocation, call=True):
    """One call as :func:`call_learner` makes it, on copies of the arguments, letting exceptions through (the
    notebook's check calls it again to show the learner their own traceback)."""
    return _call(target, dataclasses.replace(invocation, args=copy_value(tuple(invocation.args))), call)


def call_learner(target, invocations, *, call=True):
    """Run the learner's ``target`` on every invocation (in the learner's process). One outcome per invocation:
    {"output": plain data or None, "error": "Name: message" or None, "modified_input": bool, "warnings": (str,),
    "measures": {name: number}}.

    Overflow and invalid-value warnings are recorded: a correct answer computed through an overflow (e.g.
    np.exp(800) = inf in a sigmoid) is still numerically unsafe. ``call`` False: the target is a value.
    """
    outcomes = []
    for invocation in invocations:
        args = copy_value(tuple(invocation.args))
        outcome = {"output": None, "error": None, "modified_input": False, "warnings": (), "measures": {}}
        with warnings.catch_warnings(record=True) as caught, np.errstate(over="warn", invalid="warn"):
            warnings.simplefilter("always", RuntimeWarning)
            try:
                output = _call(target, dataclasses.replace(invocation, args=args), call)
                if isinstance(output, Measured):
                    output, outcome["measures"] = output.output, dict(output.measures)
                outcome["measures"]["tensor_output"] = int(_holds_tensor(output))
                outcome["output"] = to_plain(output)
            except Exception as exc:  # the learner's bug becomes a message, never a crash of the checker
                outcome["error"] = f"{type(exc).__name__}: {exc}"
        outcome["warnings"] = tuple(str(w.message) for w in caught if issubclass(w.category, RuntimeWarning))
        outcome["modified_input"] = not same_value(args, tuple(invocation.args))
        outcomes.append(outcome)
    return outcomes


def evaluate(namespace, request):
    """The clean room's side of one item: the outcomes of ``request`` (see the module docstring) against the
    learner's ``namespace`` (their notebook's globals)."""
    target = request["target"]
    if target not in namespace:
        return {"missing": True, "outcomes": ()}
    invocations = [Invocation.from_plain(data) for data in request["calls"]]
    return {"missing": False, "outcomes": tuple(call_learner(namespace[target], invocations,
                                                             call=bool(request["call"])))}


# ----------------------------------------------------------------------------------------------------------------
# Plain data across a process boundary: npz with allow_pickle=False, so nothing executable crosses it
# ----------------------------------------------------------------------------------------------------------------

def pack(tree):
    """Flatten plain data (dicts with str keys, lists/tuples, arrays, numbers, str, None) to npz bytes."""
    arrays = {}

    def walk(value):
        if isinstance(value, dict):
            return {"d": {str(k): walk(v) for k, v in value.items()}}
        if isinstance(value, (tuple, list)):
            return {"t": [walk(v) for v in value]}
        if value is None or isinstance(value, (str, bool)):
            return {"v": value}
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(value)
        return {"a": key, "s": np.ndim(value) == 0 and not isinstance(value, np.ndarray)}

    layout = walk(tree)
    buffer = io.BytesIO()
    np.savez(buffer, __layout__=np.frombuffer(json.dumps(layout).encode(), dtype=np.uint8), **arrays)
    return buffer.getvalue()


def unpack(data):
    """Inverse of :func:`pack`; refuses pickled objects."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    layout = json.loads(arrays.pop("__layout__").tobytes().decode())

    def build(node):
        if "d" in node:
            return {k: build(v) for k, v in node["d"].items()}
        if "t" in node:
            return tuple(build(v) for v in node["t"])
        if "v" in node:
            return node["v"]
        array = arrays[node["a"]]
        return array.item() if node["s"] else array

    return build(layout)


# ----------------------------------------------------------------------------------------------------------------
# Entering the clean room (run once, first, by the grader's trusted setup of a clean-room kernel)
# ----------------------------------------------------------------------------------------------------------------

class _AbsentModules:
    """A meta-path finder that refuses ``absent`` top-level modules and coursekit modules not in ``allowed``.

    Only used where the grader has no sandbox to leave these modules out of the filesystem: it is a courtesy that
    gives the same error messages, not a protection (code in the process can remove it).
    """

    def __init__(self, absent, allowed):
        self.absent, self.allowed = frozenset(absent), frozenset(allowed)

    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in self.absent or (top == "coursekit" and name != "coursekit" and name not in self.allowed):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def _shell_command_skipped(command, *args, **kwargs):
    print(f"[clean room] shell command not run: {command}")
    return None


def enter_clean_room(shell, *, absent=(), allowed=(), guard=False):
    """Prepare an IPython ``shell`` to run graded code: shell escapes (``!cmd``, ``%pip``, ``%system``) become
    no-ops that say so (graded code cannot depend on them), figures draw off screen, and with ``guard`` the
    ``absent`` modules refuse to import (see :class:`_AbsentModules`)."""
    os.environ["MPLBACKEND"] = "agg"
    if guard:
        sys.meta_path.insert(0, _AbsentModules(absent, allowed))
    if shell is not None:
        shell.system = _shell_command_skipped
        shell.system_piped = _shell_command_skipped
        shell.system_raw = _shell_command_skipped
        shell.getoutput = lambda command, split=True, depth=0: _shell_command_skipped(command) or []


def evaluate_and_publish(namespace, payload, mime):
    """The clean room's whole answer to one request: ``payload`` is the packed request in base64; the packed
    result goes back as display data of type ``mime`` on the kernel's output channel (never a file)."""
    import base64

    from IPython.display import publish_display_data

    try:
        result = evaluate(namespace, unpack(base64.b64decode(payload)))
    except Exception as exc:  # a broken namespace (e.g. a learner's object that fails to compare) is a message
        result = {"missing": False, "outcomes": (), "crash": f"{type(exc).__name__}: {exc}"}
    publish_display_data({mime: base64.b64encode(pack(result)).decode("ascii")})


def run_statements(shell, statements, mime):
    """Run a cell's top-level ``statements`` one after another in the IPython ``shell``, going on after a failing
    one (so that a failing ``import torch`` costs only what needs torch), and publish which failed as display data
    of type ``mime``: ``{"failed": ((index, error name, message), ...)}``. One round trip per cell instead of one
    per statement; an interrupt (the grader's timeout) stops only the statement it hits."""
    import base64

    from IPython.display import publish_display_data

    failed = []
    for index, code in enumerate(statements):
        result = shell.run_cell(code, store_history=False)
        error = result.error_before_exec or result.error_in_exec
        if error is not None:
            failed.append((index, type(error).__name__, str(error)[:2000]))
    publish_display_data({mime: base64.b64encode(pack({"failed": tuple(failed)})).decode("ascii")})
