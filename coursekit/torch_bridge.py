"""Moving weights between coursekit's NumPy models and torch.nn recurrent modules.

Used by ``coursekit.rnn`` and ``coursekit.lstm`` (``params_from_torch`` / ``params_to_torch``); the notebooks
use those bridges to check a NumPy model against PyTorch on the same weights.

PyTorch keeps one layer/direction of a recurrent module in four tensors, ``weight_ih``, ``weight_hh``,
``bias_ih`` and ``bias_hh``, whose rows stack the gates (e.g. i|f|g|o for an LSTM). The names carry a suffix
in multi-layer modules: ``weight_ih_l1_reverse`` is layer 1, backward direction. Cells (nn.RNNCell,
nn.LSTMCell) have no suffix.

torch is imported lazily, inside the functions.
"""

import numpy as np

TENSOR_KINDS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def tensor_names(module, layer=0, reverse=False):
    """Names of (weight_ih, weight_hh, bias_ih, bias_hh) for one layer/direction of ``module``.

    ``module`` is a multi-layer module (nn.RNN, nn.LSTM, nn.GRU: has ``num_layers``) or a cell.
    """
    if hasattr(module, "num_layers"):
        if not 0 <= layer < module.num_layers:
            raise ValueError(f"layer={layer} but the module has {module.num_layers} layer(s): use 0..{module.num_layers - 1}")
        if reverse and not module.bidirectional:
            raise ValueError("reverse=True but the module is not bidirectional")
        suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    else:
        if layer != 0 or reverse:
            raise ValueError(f"{type(module).__name__} has a single layer and direction: use layer=0, reverse=False")
        suffix = ""
    return tuple(kind + suffix for kind in TENSOR_KINDS)


def read_tensors(module, names):
    """float64 NumPy copies of the four tensors; a module built with bias=False gives zero biases."""
    weight_ih, weight_hh, bias_ih, bias_hh = names
    arrays = [getattr(module, weight_ih), getattr(module, weight_hh)]
    arrays = [np.array(t.detach().cpu().double().numpy(), copy=True) for t in arrays]
    rows = arrays[0].shape[0]
    for name in (bias_ih, bias_hh):
        tensor = getattr(module, name, None)
        arrays.append(np.zeros(rows) if tensor is None else np.array(tensor.detach().cpu().double().numpy(), copy=True))
    return tuple(arrays)


def write_tensors(module, names, arrays):
    """Copy four arrays into the module's tensors in place (under no_grad), keeping the module's dtype/device.

    Shapes must match exactly. A bias=False module accepts only all-zero biases.
    """
    import torch

    for name, value in zip(names, arrays):
        target = getattr(module, name, None)
        value = np.asarray(value)
        if target is None:
            if np.any(value != 0):
                raise ValueError(f"the module has no {name} (built with bias=False) but the params give non-zero biases")
            continue
        if tuple(target.shape) != value.shape:
            raise ValueError(f"{name} has shape {tuple(target.shape)}; the params give {value.shape}")
        with torch.no_grad():
            target.copy_(torch.from_numpy(np.ascontiguousarray(value)).to(dtype=target.dtype, device=target.device))
