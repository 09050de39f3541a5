"""Activation functions shared by the recurrent models (notebook 01 introduces the sigmoid)."""

import numpy as np


def sigmoid(x):
    """Logistic sigmoid 1 / (1 + exp(-x)), stable for any |x|.

    exp is only ever taken of -|x| <= 0, so it cannot overflow: for x >= 0 use 1 / (1 + e^-x), for x < 0 the
    equal form e^x / (1 + e^x). Keeps the input's floating dtype (float32 stays float32).
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


tanh = np.tanh
