"""Activation functions shared by the recurrent models (notebook 01 introduces the sigmoid)."""

import numpy as np


def sigmoid(x):
    """Logistic sigmoid 1 / (1 + exp(-x)), stable for any |x|.

    Computed as (1 + tanh(x / 2)) / 2, the same function: tanh never overflows, and it costs three array
    operations, which matters inside a recurrence. (Notebook 01 derives another stable form, with exp(-|x|).)
    Keeps the input's floating dtype (float32 stays float32).
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    half = x.dtype.type(0.5)
    return half * np.tanh(half * x) + half


tanh = np.tanh
