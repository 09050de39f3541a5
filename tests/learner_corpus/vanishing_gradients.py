"""Learner implementations for notebook 06: grad_norms_over_time (torch) and adding_problem (NumPy)."""

import numpy as np
import torch

from learner_corpus import Entry

A = "06-vanishing-gradients"


def _steps(model, xs, detach=False):
    T, B, _ = xs.shape
    is_lstm = isinstance(model, torch.nn.LSTM)
    h = xs.new_zeros(1, B, model.hidden_size)
    state = (h, torch.zeros_like(h)) if is_lstm else h
    hs, cs = [], []
    for t in range(T):
        _, state = model(xs[t:t + 1], state)
        h = state[0] if is_lstm else state
        h.retain_grad()
        hs.append(h)
        if is_lstm:
            state[1].retain_grad()
            cs.append(state[1])
        if detach:
            state = tuple(s.detach() for s in state) if is_lstm else state.detach()
    return hs, cs


def norms(model, xs, *, loss="last", read="h", squared=False, reverse=False, tensor=False, detach=False):
    hs, cs = _steps(model, xs, detach)
    total = {"last": hs[-1].sum(), "all": sum(h.sum() for h in hs), "mean": hs[-1].mean()}[loss]
    total.backward()
    values = [(h.grad.norm() if h.grad is not None else torch.zeros(())) for h in hs]
    if read == "h+c" and cs:
        values = [torch.sqrt(v ** 2 + (c.grad.norm() if c.grad is not None else 0) ** 2) for v, c in zip(values, cs)]
    out = torch.stack(values)
    out = out ** 2 if squared else out
    out = out.flip(0) if reverse else out
    return out.detach() if tensor else out.detach().numpy()


def norms_autograd(model, xs):
    hs, _ = _steps(model, xs)
    grads = torch.autograd.grad(hs[-1].sum(), hs)
    return np.array([g.norm().item() for g in grads])


def norms_one_call(model, xs):
    output, _ = model(xs)
    output.retain_grad()
    output[-1].sum().backward()
    return output.grad.flatten(1).norm(dim=1).numpy()


def norms_of_inputs(model, xs):
    xs = xs.clone().requires_grad_(True)
    hs, _ = _steps(model, xs)
    hs[-1].sum().backward()
    return xs.grad.flatten(1).norm(dim=1).detach().numpy()


def norms_per_example(model, xs):
    hs, _ = _steps(model, xs)
    hs[-1].sum().backward()
    return np.array([h.grad[0].norm(dim=1).mean().item() for h in hs])


def adding(batch, T, rng, *, first=None, second=None, values="uniform", target="marked", source="given",
           ys_shape="column", layout="time-major"):
    if source == "given":
        rng = np.random.default_rng(rng)
    elif source == "fixed":
        rng = np.random.default_rng(0)
    else:
        rng = np.random.default_rng()  # unseeded
    half = T // 2
    vals = rng.uniform(0, 1, (T, batch)) if values == "uniform" else rng.standard_normal((T, batch))
    cols = np.arange(batch)
    i = rng.integers(0, half, batch) if first is None else first(rng, half, T, batch)
    j = rng.integers(half, T, batch) if second is None else second(rng, half, T, batch)
    markers = np.zeros((T, batch))
    markers[i, cols] = 1
    markers[j, cols] = 1
    ys = vals[i, cols] + vals[j, cols] if target == "marked" else vals.sum(axis=0)
    xs = np.stack([vals, markers], axis=-1)
    if layout == "batch-major":
        xs = xs.transpose(1, 0, 2)
    return xs, (ys[:, None] if ys_shape == "column" else ys)


def adding_permutation(batch, T, rng):
    rng = np.random.default_rng(rng)
    half = T // 2
    xs = np.zeros((T, batch, 2))
    xs[..., 0] = rng.random((T, batch))
    for b in range(batch):
        xs[rng.permutation(half)[0], b, 1] = 1
        xs[half + rng.permutation(T - half)[0], b, 1] = 1
    ys = (xs[..., 0] * xs[..., 1]).sum(axis=0, keepdims=True).T
    return xs, ys


ENTRIES = [
    Entry(A, "test_grad_norms_over_time", "L over every output", lambda m, x: norms(m, x, loss="all"), "*last*"),
    Entry(A, "test_grad_norms_over_time", "reverse order", lambda m, x: norms(m, x, reverse=True), "reverse order"),
    Entry(A, "test_grad_norms_over_time", "mean instead of sum", lambda m, x: norms(m, x, loss="mean"), "mean"),
    Entry(A, "test_grad_norms_over_time", "squared norms", lambda m, x: norms(m, x, squared=True), "square"),
    Entry(A, "test_grad_norms_over_time", "LSTM with the cell state", lambda m, x: norms(m, x, read="h+c"),
          "cell state"),
    Entry(A, "test_grad_norms_over_time", "state detached", lambda m, x: norms(m, x, detach=True), "detached"),
    Entry(A, "test_grad_norms_over_time", "returns a torch tensor", lambda m, x: norms(m, x, tensor=True),
          "NumPy array"),
    Entry(A, "test_grad_norms_over_time", "one call of the model", norms_one_call, "step by step"),
    Entry(A, "test_grad_norms_over_time", "gradient of the inputs", norms_of_inputs, "dL/dx_t"),
    Entry(A, "test_grad_norms_over_time", "mean of per-example norms", norms_per_example, "Frobenius"),
    Entry(A, "test_grad_norms_over_time", "retain_grad and backward", norms),
    Entry(A, "test_grad_norms_over_time", "torch.autograd.grad", norms_autograd),
    Entry(A, "test_adding_problem", "markers at fixed steps", lambda b, T, r: adding(
          b, T, r, first=lambda g, h, T, b: np.zeros(b, int), second=lambda g, h, T, b: np.full(b, h)),
          "same positions"),
    Entry(A, "test_adding_problem", "normal values", lambda b, T, r: adding(b, T, r, values="normal"), "[0, 1)"),
    Entry(A, "test_adding_problem", "both markers in the first half", lambda b, T, r: adding(
          b, T, r, second=lambda g, h, T, b: g.integers(0, h, b)), "marker"),
    Entry(A, "test_adding_problem", "target = sum of every value", lambda b, T, r: adding(b, T, r, target="all"),
          "sum of the values at the two marked steps"),
    Entry(A, "test_adding_problem", "an unseeded generator", lambda b, T, r: adding(b, T, r, source="unseeded"),
          "same seed gave different batches"),
    Entry(A, "test_adding_problem", "a fixed seed", lambda b, T, r: adding(b, T, r, source="fixed"),
          "different seeds gave the same batch"),
    Entry(A, "test_adding_problem", "ys of shape (batch,)", lambda b, T, r: adding(b, T, r, ys_shape="flat"),
          "ys has shape"),
    Entry(A, "test_adding_problem", "batch-major xs", lambda b, T, r: adding(b, T, r, layout="batch-major"),
          "xs has shape"),
    Entry(A, "test_adding_problem", "first marker may sit at step half", lambda b, T, r: adding(
          b, T, r, first=lambda g, h, T, b: g.integers(0, h + 1, b)), "marker"),
    Entry(A, "test_adding_problem", "the solution's generator", adding),
    Entry(A, "test_adding_problem", "permutations", adding_permutation),
]
