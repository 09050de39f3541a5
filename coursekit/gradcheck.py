"""Numerical gradients and relative errors (数值梯度检查).

Introduced with backpropagation through time (notebook 03), used by every notebook that
asks learners to write a backward pass. The recipe follows CS231n:

1. ``numerical_gradient`` estimates d(loss)/dx with centred differences;
2. ``rel_error`` compares it with the analytic gradient;
3. ``check_gradient`` / ``check_param_grads`` turn that comparison into a pass/fail
   with a message that points at the worst entries.

All numerical work is done in float64: with ``h=1e-6`` a float32 perturbation would be
lost in rounding. Messages are in the notebook's language (``coursekit.i18n.kernel_language()``).
"""

import numpy as np

from coursekit.i18n import Text, kernel_language

__all__ = ["numerical_gradient", "rel_error", "check_gradient", "check_param_grads"]

# Floor of the denominator in ``rel_error``: keeps the ratio finite where both gradients are 0.
REL_ERROR_FLOOR = 1e-8
# Below this size a centred difference with h=1e-6 (accurate to ~1e-10) cannot reach a relative error of 1e-7.
TINY_GRADIENT = 1e-4
# Centred difference formulas as (offset in units of h, weight); the derivative is sum(weight * f) / h.
STENCILS = {
    2: ((1, 0.5), (-1, -0.5)),
    4: ((2, -1 / 12), (1, 8 / 12), (-1, -8 / 12), (-2, 1 / 12)),
}


def _say(message):
    """A Text in the notebook's language."""
    return message.render(kernel_language())


def _require_float64_array(x, what):
    if not isinstance(x, np.ndarray):
        raise ValueError(_say(Text("{what} must be a NumPy array, got {type}", what=what, type=type(x).__name__)))
    if x.dtype != np.float64:
        raise ValueError(_say(Text(
            "{what} must have dtype float64 (got {dtype}); a step of 1e-6 is lost in "
            "float32 rounding, so convert with x.astype(np.float64) first", what=what, dtype=x.dtype
        )))
    if not x.flags.writeable:
        raise ValueError(_say(Text("{what} must be writeable: it is perturbed in place", what=what)))


def numerical_gradient(f, x, df=None, h=1e-6, *, order=2):
    """Centred-difference gradient of ``f`` with respect to the array ``x``.

    Each entry ``x[i]`` is set to ``x[i] + h`` and ``x[i] - h`` in place (so ``f`` may
    read ``x`` through a closure or through its argument) and then restored to its
    exact original value.

    ``order=2`` is the classic (f(x+h) - f(x-h)) / 2h. Its absolute error is about
    1e-10 for a loss of size 1 (rounding, divided by h), so gradient entries smaller
    than ~1e-3 cannot reach a relative error of 1e-7. ``order=4`` uses the five-point
    stencil (-f(x+2h) + 8 f(x+h) - 8 f(x-h) + f(x-2h)) / 12h, whose truncation error is
    O(h^4): with ``h=1e-4`` it is about 100x more accurate, at twice the cost.

    Args:
        f: callable ``f(x)`` returning a scalar, or an array when ``df`` is given.
        x: float64 array of any shape, the point where the gradient is taken.
        df: upstream gradient, same shape as ``f(x)``. When given, the result is the
            gradient of ``sum(f(x) * df)``; when ``None``, ``f`` must return a scalar.
        h: step size.
        order: 2 or 4, the order of accuracy of the difference formula.

    Returns:
        grad: float64 array, same shape as ``x``.
    """
    _require_float64_array(x, "x")
    if df is not None:
        df = np.asarray(df, dtype=np.float64)

    def scalar_value():
        # Copy: f may return a view of a buffer that the next call overwrites.
        out = np.array(f(x), dtype=np.float64, copy=True)
        if df is None:
            if out.size != 1:
                raise ValueError(_say(Text(
                    "f returned an array of shape {shape}; pass its upstream gradient "
                    "as df=..., or make f return a scalar", shape=out.shape
                )))
            return float(out.reshape(()))
        if out.shape != df.shape:
            raise ValueError(_say(Text("df has shape {df} but f(x) has shape {out}; they must match",
                                       df=df.shape, out=out.shape)))
        return float(np.sum(out * df))

    if order not in STENCILS:
        raise ValueError(_say(Text("order must be one of {orders}, got {order!r}", orders=sorted(STENCILS),
                                   order=order)))
    stencil = STENCILS[order]
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        original = x[idx]
        total = 0.0
        try:
            for offset, weight in stencil:
                x[idx] = original + offset * h
                total += weight * scalar_value()
        finally:
            x[idx] = original
        grad[idx] = total / h
    return grad


def _elementwise_rel_error(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(_say(Text("cannot compare arrays of shapes {a} and {b}; expected equal shapes",
                                   a=a.shape, b=b.shape)))
    return np.abs(a - b) / np.maximum(REL_ERROR_FLOOR, np.abs(a) + np.abs(b))


def rel_error(a, b):
    """Largest elementwise relative error between two arrays (CS231n's definition).

        rel_error(a, b) = max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|)

    It is symmetric in ``a`` and ``b``, 0 for identical arrays and at most 1. For a
    correct backward pass checked in float64 it is usually below 1e-7; values around
    1e-2 or larger mean a bug. NaN anywhere gives NaN. Empty arrays give 0.0.

    Args:
        a, b: arrays (or scalars) of the same shape.

    Returns:
        float
    """
    err = _elementwise_rel_error(a, b)
    return float(np.max(err)) if err.size else 0.0


def check_gradient(analytic, numeric, *, name="", tol=1e-7, show=3):
    """Assert that an analytic gradient matches a numerical one.

    Passes (returns ``None``) when ``rel_error(analytic, numeric) <= tol``. Otherwise
    raises ``AssertionError`` whose message lists the ``show`` worst entries with their
    index, analytic value, numeric value and relative error. NaN or inf always fails.

    Args:
        analytic: gradient from a backward pass.
        numeric: gradient from ``numerical_gradient``.
        name: what is being checked (e.g. ``"dW_hh"``), used in the message.
        tol: largest accepted relative error.
        show: how many of the worst entries the message lists.
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    if analytic.shape != numeric.shape:
        shapes = dict(name=name, got=analytic.shape, expected=numeric.shape)
        raise AssertionError(_say(
            Text("gradient check failed for {name}: analytic gradient has shape {got}, "
                 "expected {expected} (the shape of the numerical gradient)", **shapes) if name else
            Text("gradient check failed: analytic gradient has shape {got}, "
                 "expected {expected} (the shape of the numerical gradient)", **shapes)
        ))
    err = _elementwise_rel_error(analytic, numeric)
    if err.size == 0 or np.max(err) <= tol:  # NaN compares False, so it fails below
        return
    ranked = np.where(np.isnan(err), np.inf, err).ravel()
    worst = np.argsort(-ranked, kind="stable")[:show]
    lines = []
    for flat in worst:
        idx = np.unravel_index(flat, err.shape)
        idx = tuple(int(i) for i in idx)
        lines.append(_say(Text(
            "  index {index}: analytic {analytic:.10g}, numeric {numeric:.10g}, "
            "relative error {error:.3g}", index=idx, analytic=analytic[idx], numeric=numeric[idx], error=err[idx]
        )))
    summary = dict(name=name, error=float(np.max(ranked)), tol=tol, bad=int(np.sum(~(err <= tol))), size=err.size,
                   entries="\n".join(lines))
    message = _say(
        Text("gradient check failed for {name}: max relative error {error:.3g} > tol {tol:g} "
             "({bad} of {size} entries). Worst entries:\n{entries}", **summary) if name else
        Text("gradient check failed: max relative error {error:.3g} > tol {tol:g} "
             "({bad} of {size} entries). Worst entries:\n{entries}", **summary)
    )
    top = np.unravel_index(worst[0], err.shape)
    if max(abs(analytic[top]), abs(numeric[top])) < TINY_GRADIENT:
        message += "\n" + _say(Text(
            "Hint: the worst entry is tiny (below {tiny:g}), where the numerical estimate is the less accurate of "
            "the two; try numerical_gradient(..., order=4, h=1e-4) before looking for a bug.", tiny=TINY_GRADIENT
        ))
    raise AssertionError(message)


def check_param_grads(loss_fn, params, grads, *, tol=1e-7, h=1e-6, order=2):
    """Check every gradient in ``grads`` against numerical gradients of a scalar loss.

    Args:
        loss_fn: zero-argument callable returning a scalar loss; it must read the arrays
            in ``params`` (they are perturbed in place, one entry at a time).
        params: dict name -> float64 array.
        grads: dict with the same keys as ``params``; ``grads[k]`` is d(loss)/d(params[k]).
        tol, h, order: as in ``check_gradient`` and ``numerical_gradient``.

    Returns:
        dict name -> relative error (for printing), when every gradient passes.

    Raises:
        AssertionError naming every failing parameter (and its worst entries), or a
        missing/unexpected key in ``grads``.
    """
    missing = sorted(set(params) - set(grads))
    extra = sorted(set(grads) - set(params))
    if missing or extra:
        raise AssertionError(_say(Text("grads keys do not match params keys: missing {missing}, unexpected {extra}",
                                       missing=missing, extra=extra)))
    errors, failures = {}, []
    for key, value in params.items():
        numeric = numerical_gradient(lambda _: loss_fn(), value, h=h, order=order)
        errors[key] = rel_error(grads[key], numeric) if np.shape(grads[key]) == numeric.shape else np.inf
        try:
            check_gradient(grads[key], numeric, name=key, tol=tol)
        except AssertionError as exc:
            failures.append(str(exc))
    if failures:
        raise AssertionError("\n".join(failures))
    return errors
