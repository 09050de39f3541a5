"""Graded items of notebook 06-vanishing-gradients (梯度消失).

- ``grad_norms_over_time(model, xs)``: ||dL/dh_t|| for every step of a torch nn.RNN / nn.LSTM / nn.GRU, with
  L = h_{T-1}.sum(). Cases are plain data (a kind, the four weight tensors as arrays, the inputs); the harness's
  ``recurrent_module`` invoker builds the float64 (or float32) module from them in the clean room, the grader recomputes the reference with
  :func:`coursekit.gradflow.state_gradient_norms` from the same seed.
- ``adding_problem(batch, T, rng)``: the task generator. Its output is random, so it is judged by ``validate``
  (shapes, two markers one per half, target = sum of the marked values, values in [0, 1), and enough spread to rule
  out fixed positions or repeated values), not by comparison with one right answer.

torch is imported inside the functions that need it, so importing this module imports only NumPy.
"""

import numpy as np

from coursekit.checking import Case, Item
from coursekit.harness import RECURRENT_WEIGHTS, recurrent_module
from coursekit.gradflow import state_gradient_norms, unrolled_states
from coursekit.i18n import N_, Text
from coursekit.items.cases import F32

ASSIGNMENT = "06-vanishing-gradients"

GATE_BLOCKS = {"rnn": 1, "lstm": 4, "gru": 3}  # rows of weight_ih_l0 per hidden unit
WEIGHT_NAMES = RECURRENT_WEIGHTS


# ----------------------------------------------------------------------------------------------------------------
# grad_norms_over_time(model, xs)
# ----------------------------------------------------------------------------------------------------------------

def recurrent_weights(rng, kind, input_size, hidden_size, *, memory_bias=0.0, recurrent_scale=1.0,
                      dtype=np.float64):
    """Weights of a torch recurrent layer as plain arrays, drawn like PyTorch's default U(-1/sqrt(H), 1/sqrt(H)).

    memory_bias is added to the update gate (GRU, rows H:2H) or forget gate (LSTM, rows H:2H) of bias_ih_l0;
    recurrent_scale multiplies weight_hh_l0 (e.g. 4 for an RNN whose gradients explode).
    """
    rows, H = GATE_BLOCKS[kind] * hidden_size, hidden_size
    bound = 1.0 / np.sqrt(H)
    shapes = {"weight_ih_l0": (rows, input_size), "weight_hh_l0": (rows, H), "bias_ih_l0": (rows,),
              "bias_hh_l0": (rows,)}
    weights = {name: rng.uniform(-bound, bound, size=shapes[name]) for name in WEIGHT_NAMES}
    weights["weight_hh_l0"] *= recurrent_scale
    if memory_bias:
        weights["bias_ih_l0"][H:2 * H] += memory_bias
    return {name: value.astype(dtype) for name, value in weights.items()}


def build_model(kind, weights, xs):
    """(model, xs tensor) from plain data: an nn.RNN/nn.LSTM/nn.GRU of xs's dtype holding ``weights`` (what the
    harness's ``recurrent_module`` invoker hands the learner's function, rebuilt here for the reference)."""
    import torch

    dtype = torch.float32 if xs.dtype == np.float32 else torch.float64
    return recurrent_module(kind, weights, dtype), torch.from_numpy(xs)


def grad_norms_reference(kind, weights, xs):
    """||dL/dh_t|| for t = 0..T-1 with L = h_{T-1}.sum() (see coursekit.gradflow.state_gradient_norms)."""
    return state_gradient_norms(*build_model(kind, weights, xs))


def _state_gradients(kind, weights, xs, *, loss="last", detach=False):
    """Per-step gradients for the wrong variants: a dict of (T, B, H) arrays "h" (dL/dh_t), "c" (LSTM dL/dc_t),
    "before" (dL/dh_{t-1}, i.e. with h0 first) and "x" (dL/dx_t, (T, B, I)).

    loss: "last" (h_{T-1}.sum()), "mean" (h_{T-1}.mean()) or "all" (the sum of every h_t).
    detach: cut the graph between steps, as if the state were detached every step.
    """
    model, x = build_model(kind, weights, xs)
    x = x.clone().requires_grad_(True)
    h0 = x.new_zeros(1, x.shape[1], model.hidden_size, requires_grad=True)
    hs, cs = unrolled_states(model, x, h0, detach=detach)
    total = {"last": hs[-1].sum(), "mean": hs[-1].mean(), "all": sum(h.sum() for h in hs)}[loss]
    total.backward()

    def stack(tensors):
        return np.stack([np.zeros(tuple(s.shape[1:])) if s.grad is None else s.grad[0].double().numpy()
                         for s in tensors])

    grads_h = stack(hs)
    return {"h": grads_h, "c": stack(cs) if cs else np.zeros_like(grads_h),
            "before": np.concatenate([stack([h0]), grads_h[:-1]]),
            "x": x.grad.double().numpy()}


def _norms(grads):
    """Frobenius norm over every axis but the first: (T, ...) -> (T,)."""
    return np.sqrt((grads.reshape(grads.shape[0], -1) ** 2).sum(axis=1))


def _wrong_norms(measure, **options):
    def wrong(kind, weights, xs):
        return measure(_state_gradients(kind, weights, xs, **options))
    return wrong


def _grad_norm_cases(rng, hidden):
    specs = [  # label, kind, T, B, I, H, memory bias, recurrent scale, dtype
        (N_("GRU, default init, T=12, B=3, I=2, H=4"), "gru", 12, 3, 2, 4, 0.0, 1.0, np.float64),
        (N_("LSTM, forget-gate bias +2, T=12, B=3, I=2, H=4"), "lstm", 12, 3, 2, 4, 2.0, 1.0, np.float64),
        (N_("RNN, default init, T=10, B=2, I=3, H=5"), "rnn", 10, 2, 3, 5, 0.0, 1.0, np.float64),
        ("T=1", "gru", 1, 2, 2, 3, 0.0, 1.0, np.float64),
        ("B=1", "lstm", 8, 1, 2, 3, 0.0, 1.0, np.float64),
        ("H=1", "rnn", 9, 3, 2, 1, 0.0, 1.0, np.float64),
        (N_("RNN, recurrent weights x4 (exploding), T=25"), "rnn", 25, 2, 2, 6, 0.0, 4.0, np.float64),
        (N_("float32 GRU"), "gru", 10, 2, 3, 4, 0.0, 1.0, np.float32),
    ]
    if hidden:
        specs += [
            (N_("GRU, update-gate bias +3, T=40"), "gru", 40, 2, 2, 6, 3.0, 1.0, np.float64),
            (N_("LSTM, default init, T=20, I=1"), "lstm", 20, 3, 1, 5, 0.0, 1.0, np.float64),
        ]
    specs += [(N_("probe: T=1, LSTM"), "lstm", 1, 2, 2, 3, 0.0, 1.0, np.float64),
              (N_("probe: T=2, RNN"), "rnn", 2, 2, 2, 3, 0.0, 1.0, np.float64)]
    blames = {"probe: T=1, LSTM": N_("with T = 1, L = h_0.sum() and dL/dh_0 is 1 everywhere: norms = [sqrt(B * H)]; "
                                     "check L (the sum of the last hidden state, not its mean nor the cell state)"),
              "probe: T=2, RNN": N_("one step back: norms[0] = ||dL/dh_0|| with dL/dh_0 flowing back through the "
                                    "step that reads xs[1]; keep the graph between steps and read h_t.grad, t = 0 "
                                    "first")}
    cases = []
    for label, kind, T, B, I, H, bias, scale, dtype in specs:
        weights = recurrent_weights(rng, kind, I, H, memory_bias=bias, recurrent_scale=scale, dtype=dtype)
        xs = rng.standard_normal((T, B, I)).astype(dtype)
        cases.append(Case(label, (kind, weights, xs), **(F32 if dtype == np.float32 else {}),
                          blame=blames.get(label, "")))
    return cases


GRAD_NORMS_OVER_TIME = Item(
    name="test_grad_norms_over_time", target="grad_norms_over_time", points=4, make_cases=_grad_norm_cases,
    reference=grad_norms_reference, invoker="recurrent_module", numpy_output=True,
    keep_dtype=False,  # norms collected with .item() are float64 whatever the model's dtype
    mistakes=(
        (N_("L must be the sum of the *last* hidden state only, L = h_{T-1}.sum(); this looks like the sum of every "
            "h_t (e.g. output.sum()), which adds a direct gradient at every step"),
         _wrong_norms(lambda g: _norms(g["h"]), loss="all")),
        (N_("norms[t] must belong to h_t, t = 0 first; these are in reverse order (by distance T - 1 - t)"),
         _wrong_norms(lambda g: _norms(g["h"])[::-1])),
        (N_("off by one: norms[t] is for the state *after* reading xs[t]; this is the state before it (h0 first)"),
         _wrong_norms(lambda g: _norms(g["before"]))),
        (N_("this is ||dL/dx_t||, the gradient on the inputs; measure the gradient on the hidden state h_t"),
         _wrong_norms(lambda g: _norms(g["x"]))),
        (N_("L is the sum of h_{T-1}'s entries, not their mean (every norm is B * H times too small)"),
         _wrong_norms(lambda g: _norms(g["h"]), loss="mean")),
        (N_("the norm is the Frobenius norm of the whole (B, H) gradient, not the mean of per-example norms"),
         _wrong_norms(lambda g: np.linalg.norm(g["h"], axis=2).mean(axis=1))),
        (N_("return the norm, not its square"), _wrong_norms(lambda g: _norms(g["h"]) ** 2)),
        (N_("for the LSTM, measure dL/dh_t alone: the cell state c_t's gradient is not part of it"),
         _wrong_norms(lambda g: np.sqrt(_norms(g["h"]) ** 2 + _norms(g["c"]) ** 2))),
        (N_("no gradient flows back through time: the state was detached between steps (keep the graph: do not "
            "call .detach() or wrap the loop in torch.no_grad()), or the whole sequence ran in one call model(xs), "
            "whose inner states autograd never shows: run it step by step"),
         _wrong_norms(lambda g: _norms(g["h"]), detach=True)),
    ),
)


# ----------------------------------------------------------------------------------------------------------------
# adding_problem(batch, T, rng)
# ----------------------------------------------------------------------------------------------------------------

def _adding_cases(rng, hidden):
    specs = [("batch=8, T=10", 8, 10),
             (N_("batch=256, T=50 (checks the spread of values and marker positions)"), 256, 50),
             (N_("T=2: the markers must be at steps 0 and 1"), 6, 2), ("batch=1", 1, 30),
             (N_("odd T=7: the first half is steps 0..2 (T // 2 = 3)"), 64, 7)]
    if hidden:
        specs += [("batch=300, T=101", 300, 101)]
    cases = [Case(label, (batch, T, int(rng.integers(2**31)))) for label, batch, T in specs]
    # the seed: the same seed must give the same batch, another seed another batch
    seed = int(rng.integers(2**31))
    return cases + [Case(N_("seed s"), (16, 12, seed)), Case(N_("seed s again"), (16, 12, seed)),
                    Case(N_("another seed"), (16, 12, seed + 1))]


def _seed_honoured(cases, outcomes):
    """(index, message) if equal seeds gave different batches or different seeds the same batch, else None."""
    by_args = {}
    for index, (case, outcome) in enumerate(zip(cases, outcomes)):
        by_args.setdefault(case.args, []).append(index)
    for same in by_args.values():
        first = outcomes[same[0]]["output"]
        for index in same[1:]:
            if not all(np.array_equal(a, b) for a, b in zip(first, outcomes[index]["output"])):
                return index, (N_("two calls with the same seed gave different batches"),
                               N_("draw every random number from rng = np.random.default_rng(rng), not from "
                                  "np.random's global functions or an unseeded generator"))
    for index, case in enumerate(cases):
        for other, case_b in enumerate(cases[:index]):
            if case.args[:2] == case_b.args[:2] and case.args[2] != case_b.args[2] and all(
                    np.array_equal(a, b) for a, b in zip(outcomes[index]["output"], outcomes[other]["output"])):
                return index, (N_("two different seeds gave the same batch"),
                               N_("use the rng you are given, np.random.default_rng(rng), not a fixed seed"))
    return None


def _validate_adding(case, output):
    """None if ``output`` is a valid adding-problem batch for case.args = (batch, T, seed), else a message."""
    batch, T, _ = case.args
    if not isinstance(output, tuple) or len(output) != 2:
        return N_("adding_problem should return a tuple (xs, ys)")
    xs, ys = (np.asarray(v) for v in output)
    if xs.shape != (T, batch, 2):
        return Text("xs has shape {shape}; expected (T, batch, 2) = {expected} (sequence first, 2 features)",
                    shape=xs.shape, expected=(T, batch, 2))
    if ys.shape != (batch, 1):
        return Text("ys has shape {shape}; expected (batch, 1) = {expected}", shape=ys.shape, expected=(batch, 1))
    if xs.dtype.kind != "f" or ys.dtype.kind != "f":
        return Text("xs and ys should hold floating point numbers, got {xs_dtype} and {ys_dtype}",
                    xs_dtype=xs.dtype, ys_dtype=ys.dtype)
    values, markers = xs[..., 0], xs[..., 1]
    if not np.all((values >= 0) & (values < 1)):
        return Text("the values xs[..., 0] must lie in [0, 1) (uniform); found {low:.3g} to {high:.3g}",
                    low=values.min(), high=values.max())
    if not np.all((markers == 0) | (markers == 1)):
        return N_("the markers xs[..., 1] must be 0 or 1")
    counts = markers.sum(axis=0)
    if not np.all(counts == 2):
        b = int(np.argmax(counts != 2))
        return Text("sequence {b} has {count} markers; every sequence needs exactly two", b=b, count=int(counts[b]))
    half = T // 2
    first, second = markers[:half].sum(axis=0), markers[half:].sum(axis=0)
    if not np.all((first == 1) & (second == 1)):
        b = int(np.argmax(first != 1))
        return Text("sequence {b} has {first} marker(s) in steps 0..{last_first} and {second} in steps "
                    "{half}..{last}; put one marker in each half (half = T // 2 = {half})",
                    b=b, first=int(first[b]), last_first=half - 1, second=int(second[b]), half=half, last=T - 1)
    expected = (values * markers).sum(axis=0)
    if not np.allclose(ys[:, 0], expected, rtol=1e-12, atol=1e-12):
        b = int(np.argmax(~np.isclose(ys[:, 0], expected, rtol=1e-12, atol=1e-12)))
        return Text("ys[{b}] = {got:.6g} but the two marked values of sequence {b} sum to {expected:.6g}; "
                    "the target is the sum of the values at the two marked steps",
                    b=b, got=ys[b, 0], expected=expected[b])
    # Spread: a correct generator fails these with negligible probability (the thresholds are many standard
    # deviations away); they catch fixed marker positions and repeated values.
    if batch >= 50 and half >= 3:
        positions_first = np.argmax(markers[:half], axis=0)
        positions_second = half + np.argmax(markers[half:], axis=0)
        if len(np.unique(positions_first)) < 3 or len(np.unique(positions_second)) < 3:
            return N_("the markers are (almost) always at the same positions; draw each sequence's two positions "
                      "at random, one in each half")
    if values.size >= 1000:
        below = float(np.mean(values < 0.5))
        if not 0.4 < below < 0.6 or len(np.unique(values)) < 0.9 * values.size:
            return Text("the values do not look like independent U(0, 1) draws (a fresh value for every step of "
                        "every sequence): {below:.0%} are below 0.5, {distinct} of {size} are distinct",
                        below=below, distinct=len(np.unique(values)), size=values.size)
    return None


ADDING_PROBLEM = Item(
    name="test_adding_problem", target="adding_problem", points=2, make_cases=_adding_cases,
    validate=_validate_adding, across=_seed_honoured, forbidden=("torch", "coursekit"),
)

ITEMS = (GRAD_NORMS_OVER_TIME, ADDING_PROBLEM)
