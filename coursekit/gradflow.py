"""How gradients flow back through time in torch's recurrent layers (梯度消失 / 梯度爆炸). Notebook 06.

- :func:`state_gradient_norms` measures ||dL/dh_t|| for every step t of an nn.RNN, nn.LSTM or nn.GRU, through
  :func:`unrolled_states`, which runs the layer one step at a time;
- :func:`set_memory_gate_bias` shifts the gate that decides how much of the old state is kept (the GRU's update gate
  更新门, the LSTM's forget gate 遗忘门), the usual initialisation trick against vanishing gradients.

torch is imported lazily, inside the functions.
"""

import numpy as np

KINDS = ("rnn", "lstm", "gru")


def _kind(module):
    """"rnn", "lstm" or "gru" for a single-layer, unidirectional, sequence-first torch recurrent layer."""
    import torch

    kinds = {torch.nn.RNN: "rnn", torch.nn.LSTM: "lstm", torch.nn.GRU: "gru"}
    kind = kinds.get(type(module))
    if kind is None:
        raise ValueError(f"expected an nn.RNN, nn.LSTM or nn.GRU, got {type(module).__name__}")
    if module.num_layers != 1 or module.bidirectional or module.batch_first:
        raise ValueError("expected one layer, one direction and batch_first=False, got "
                         f"num_layers={module.num_layers}, bidirectional={module.bidirectional}, "
                         f"batch_first={module.batch_first}")
    if kind == "lstm" and module.proj_size:
        raise ValueError("LSTMs with proj_size > 0 are not supported")
    return kind


def unrolled_states(model, xs, h0=None, *, detach=False):
    """Run a torch recurrent layer one step at a time, so that every state is a tensor of its own for autograd.

    The full-sequence call ``model(xs)`` computes the same states inside one operation and never exposes them;
    here each step's hidden state (and the LSTM's cell state) is a separate tensor with ``retain_grad()``, so its
    ``.grad`` is kept after a backward pass.

    Inputs:
    - model: a single-layer, unidirectional nn.RNN, nn.LSTM or nn.GRU with batch_first=False
    - xs: (T, B, I) tensor of the model's dtype
    - h0: (1, B, H) initial hidden state, zeros if None; the LSTM's cell state starts at zero
    - detach: cut the graph between steps (no gradient flows from step t + 1 back to step t)

    Returns (hs, cs): lists of T tensors (1, B, H); hs[t] is the hidden state after reading xs[t], cs the LSTM's
    cell states ([] for the RNN and the GRU).
    """
    import torch

    kind = _kind(model)
    if not isinstance(xs, torch.Tensor) or xs.dim() != 3:
        raise ValueError(f"xs must be a (T, B, I) tensor, got {type(xs).__name__} of shape {tuple(np.shape(xs))}")
    T, B, _ = xs.shape
    h = xs.new_zeros(1, B, model.hidden_size) if h0 is None else h0
    state = (h, xs.new_zeros(1, B, model.hidden_size)) if kind == "lstm" else h
    hs, cs = [], []
    for t in range(T):
        if detach and t > 0:
            state = tuple(s.detach() for s in state) if kind == "lstm" else state.detach()
        _, state = model(xs[t:t + 1], state)
        h = state[0] if kind == "lstm" else state
        h.retain_grad()
        hs.append(h)
        if kind == "lstm":
            state[1].retain_grad()
            cs.append(state[1])
    return hs, cs


def state_gradient_norms(model, xs):
    """||dL/dh_t|| for t = 0..T-1, where h_t (B, H) is the hidden state after reading xs[t] and L = h_{T-1}.sum().

    Inputs:
    - model: a single-layer, unidirectional nn.RNN, nn.LSTM or nn.GRU with batch_first=False
    - xs: (T, B, I) tensor of the model's dtype; the initial state is zero

    Returns norms: (T,) float64 array, norms[t] the Frobenius norm over (B, H) of dL/dh_t. norms[T-1] is
    sqrt(B * H) since dL/dh_{T-1} is all ones; norms[t] for t < T-1 shows how much of that reaches step t.
    For the LSTM, h_t is the hidden state (the output), not the cell state c_t: dL/dh_t is the gradient on the
    tensor h_t, which reaches the future only through the gates of the later steps.
    """
    hidden_states, _ = unrolled_states(model, xs)
    hidden_states[-1].sum().backward()
    return np.array([h.grad.norm().item() for h in hidden_states], dtype=np.float64)


def set_memory_gate_bias(module, value):
    """Set the total bias of the gate that keeps the old state to ``value`` (in place); return the module.

    - nn.GRU: the update gate z (rows H:2H, order r|z|n). In PyTorch's h' = (1 - z) * n + z * h, z near 1 keeps
      the state, so a positive value makes the GRU remember: z = sigmoid(value) when the other terms are 0.
    - nn.LSTM: the forget gate f (rows H:2H, order i|f|g|o), c' = f * c + i * g; a positive value keeps c.

    PyTorch has two biases per gate (b_i* and b_h*) that are only ever added; the whole value goes into bias_ih and
    bias_hh gets 0 for that gate, so the pre-activation is shifted by exactly ``value``.

    value: a number (the same for every unit) or an (H,) tensor, one bias per unit, e.g. chrono initialisation
    (Tallec & Ollivier 2018), b = ln u with u ~ U(1, T_max - 1): since 1 - sigmoid(b) is about e^-b, a unit with
    bias b keeps its memory for about e^b steps, so these biases spread the units' memory over 1 .. T_max steps.
    """
    import torch

    kind = _kind(module)
    if kind == "rnn":
        raise ValueError("an nn.RNN has no gate: its state is always overwritten by tanh(W_ih x + W_hh h + b)")
    if not module.bias:
        raise ValueError("the module was built with bias=False, so it has no gate bias to set")
    H = module.hidden_size
    if isinstance(value, torch.Tensor) and value.shape not in ((), (H,)):
        raise ValueError(f"value must be a number or an (H,) = ({H},) tensor, got shape {tuple(value.shape)}")
    with torch.no_grad():
        module.bias_ih_l0[H:2 * H] = value
        module.bias_hh_l0[H:2 * H] = 0.0
    return module
