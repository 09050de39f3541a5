"""Activation functions shared by the recurrent models (notebook 01 introduces the sigmoid)."""

import numpy as np


# For each float dtype, the most negative input whose exp(-x) is still finite (-709 in float64, -88 in float32).
# Below it sigmoid(x) is under 1e-308 (float64) or 1e-38 (float32): clipping there changes the result by less
# than that, and nothing overflows or warns.
_CLIP = {np.dtype(t): -np.floor(np.log(np.finfo(t).max)) for t in (np.float16, np.float32, np.float64,
                                                                      np.longdouble)}


def sigmoid(x, out=None):
    """Logistic sigmoid 1 / (1 + exp(-x)), stable for any |x|.

    The input is clipped first so that exp(-x) never overflows (see _CLIP). Done in place in ``out`` (which may
    be ``x`` itself) with one exp and four cheap array operations, because it runs at every step of a recurrence.
    Notebook 01 derives the textbook stable form with exp(-|x|). Keeps the input's floating dtype.
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":  # (cheaper than np.issubdtype, and this runs at every step)
        x = x.astype(np.float64)
    if out is None:
        out = np.empty_like(x)
    np.maximum(x, _CLIP[out.dtype], out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)
    out += 1.0
    np.reciprocal(out, out=out)
    return out if out.ndim else out[()]


tanh = np.tanh
