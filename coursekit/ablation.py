"""Gate ablation of torch's nn.GRU (门控消融), d2l's question "what if the GRU had only a reset gate, or only an update
gate?". Notebook 06.

:func:`remove_gru_gates` pins a gate of an ``nn.GRU`` to a constant and keeps it there during training, so the
ablated models run through the same fast ``nn.GRU`` kernel as the full GRU:

- no reset gate (重置门): r = 1, so n = tanh(W_in x + b_in + W_hn h + b_hn): the candidate always sees all of h;
- no update gate (更新门): z = 0, so h' = n: the state is overwritten at every step, as in a plain RNN;
- neither: h' = tanh(W_in x + b_in + W_hn h + b_hn), exactly an Elman RNN (nn.RNN with tanh) with those weights.

A gate is pinned by setting its weights to 0 and its bias to +-``PIN`` (sigmoid(100) is 1 and sigmoid(-100) is 0 in
float32; in float64 they are 1 and 4e-44), and a gradient hook multiplies the gradient of those rows by 0, so no
optimiser moves them (Adam's update of a parameter whose gradient is always 0 is 0).

torch is imported lazily, inside the functions.
"""

VARIANTS = {  # name: (keep the reset gate, keep the update gate)
    "gru": (True, True),
    "gru_update_only": (False, True),
    "gru_reset_only": (True, False),
    "gru_no_gates": (False, False),
}
"""The four GRU variants of the ablation, by the gates they keep (names as in ``coursekit.experiments``)."""

PIN = 100.0
"""|bias| that pins a gate: sigmoid(+PIN) = 1 and sigmoid(-PIN) = 0 to within float precision."""


def remove_gru_gates(module, *, reset=False, update=False):
    """Pin the reset gate of an ``nn.GRU`` to r = 1 (``reset=True``) and/or its update gate to z = 0
    (``update=True``), in place and for every layer and direction; return the module.

    The pinned rows (r: rows 0:H, z: rows H:2H of every weight_ih/weight_hh/bias_ih/bias_hh, order r|z|n) get
    weights 0 and bias +PIN (r) or -PIN (z) in bias_ih, 0 in bias_hh, and a gradient hook that zeroes their gradient.
    The module must have biases (``bias=True``, the default).
    """
    import torch

    if not isinstance(module, torch.nn.GRU):
        raise TypeError(f"expected an nn.GRU, got {type(module).__name__}")
    if not module.bias:
        raise ValueError("the GRU was built with bias=False: a gate cannot be pinned without its bias")
    H = module.hidden_size
    pinned = []  # (row slice, value of bias_ih on those rows)
    if reset:
        pinned.append((slice(0, H), PIN))
    if update:
        pinned.append((slice(H, 2 * H), -PIN))
    if not pinned:
        return module
    for name, param in module.named_parameters():
        mask = torch.ones_like(param)
        with torch.no_grad():
            for rows, bias_value in pinned:
                param[rows] = bias_value if name.startswith("bias_ih") else 0.0
                mask[rows] = 0.0
        param.register_hook(lambda grad, mask=mask: grad * mask)
    if hasattr(module, "flatten_parameters"):
        module.flatten_parameters()  # cuDNN keeps a flat copy of the weights: refresh it after the in-place edit
    return module


def gru_variant(name, input_size, hidden_size):
    """A new one-layer ``nn.GRU(input_size, hidden_size)`` with the gates of variant ``name`` (see VARIANTS) pinned.

    Its weights are drawn by nn.GRU from torch's current random state, like any nn.GRU, then the pinned rows are set.
    """
    import torch

    if name not in VARIANTS:
        raise ValueError(f"unknown GRU variant {name!r}; expected one of {sorted(VARIANTS)}")
    keep_reset, keep_update = VARIANTS[name]
    return remove_gru_gates(torch.nn.GRU(input_size, hidden_size), reset=not keep_reset, update=not keep_update)
