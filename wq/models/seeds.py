"""Seed ensembles of the networks trained as one batched network (``[model] seeds = K``).

:class:`StackedNet` holds K networks of the same shape as stacked weights (a leading dimension K) and runs
them in one forward pass over the same mini-batch: a recurrent cell is unrolled over the lags with batched
matrix products (every step, all K cells at once; the LSTM through :class:`LSTMRecurrence`, with its own
backward pass), the BP network is two batched products.
Its ``forward`` returns the mean of the K forecasts (the seed ensemble); ``forward_all`` the K forecasts.

Training (:func:`fit_stacked`): one Adam over the stacked weights on the sum of the K mean squared errors (the
K networks share nothing, so each gets exactly the gradient it would get alone, and Adam's update is
elementwise); every member is early-stopped on its own validation loss (its best weights kept), training stops
when every member has run out of patience. The K networks differ in their initial weights (drawn from one
seeded generator) and their dropout; they see the same mini-batches. Cost: one pass of K-wide products instead
of K passes; K = 8 LSTMs cost about 3.5 times one torch LSTM in CPU time on one thread
(``benchmarks/bench_ensemble.py --seeds-only``; why not less: ``benchmarks/seeds_profile.py``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def _uniform(gen: torch.Generator, shape: tuple, bound: float) -> nn.Parameter:
    return nn.Parameter((torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1).to(torch.float32) * bound)


class LSTMRecurrence(torch.autograd.Function):
    """K one-layer LSTMs unrolled over the lags (zero initial state), with a hand-written backward pass.

    ``apply(x, w)``: ``x`` (B, L, C) the lag windows (shared by the K networks; no gradient for it), ``w``
    (K, H + C + 1, 4H) each network's recurrent weights, input weights and summed biases stacked by rows, the
    gate columns in torch's order (input, forget, cell, output) with the cell gate's columns doubled (its tanh
    is taken as 2 sigmoid(2 v) - 1, so that one sigmoid covers all four gates). Returns the last hidden states
    (K, B, H).

    Each step is one batched product of [hidden state, inputs, 1] with ``w`` -- the input projection and both
    biases ride in the same product, inner size H + C + 1 instead of H -- followed by six elementwise operations
    writing into buffers allocated once (tanh of the cell state taken as 2 sigmoid(2 v) - 1 as well: torch's
    CPU tanh measured 2-5x slower per element than its sigmoid here). The backward pass: one product and four
    elementwise operations per step (the factors of the gate derivatives computed for every step at once
    beforehand) and the gradient of ``w`` as one product over all steps afterwards.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:  # noqa: D102 - see the class
        if x.requires_grad:
            raise ValueError("LSTMRecurrence gives no gradient for its inputs x")
        (n, steps, c_in), (k, rows, g4) = x.shape, w.shape
        hid = g4 // 4
        u = x.new_zeros((k, steps + 1, n, rows))  # per step: [h_t, x_t, 1]; slot L holds h_L
        u[:, :steps, :, hid:hid + c_in] = x.transpose(0, 1)
        u[:, :steps, :, -1] = 1.0
        acts = x.new_empty((k, steps, n, g4))
        cs = x.new_zeros((k, steps + 1, n, hid))
        tcs = x.new_empty((k, steps, n, hid))
        for t in range(steps):
            a = torch.bmm(u[:, t], w, out=acts[:, t]).sigmoid_()
            i, f, g, o = a.view(k, n, 4, hid).unbind(2)
            g.mul_(2.0).sub_(1.0)  # tanh of the cell gate's pre-activation
            torch.mul(f, cs[:, t], out=cs[:, t + 1]).addcmul_(i, g)
            tc = torch.mul(cs[:, t + 1], 2.0, out=tcs[:, t]).sigmoid_().mul_(2.0).sub_(1.0)  # tanh, 2x faster here
            torch.mul(o, tc, out=u[:, t + 1, :, :hid])
        ctx.save_for_backward(u, acts, cs, tcs, w)
        return u[:, steps, :, :hid].clone()

    @staticmethod
    def backward(ctx, dh: torch.Tensor):  # noqa: D102 - see the class
        u, acts, cs, tcs, w = ctx.saved_tensors
        k, steps, n, g4 = acts.shape
        hid, rows = g4 // 4, w.shape[1]
        i, f, g, o = acts.view(k, steps, n, 4, hid).unbind(3)
        sd = acts.view(k, steps, n, 4, hid) * (1 - acts.view(k, steps, n, 4, hid))  # sigmoid derivatives
        p = torch.addcmul(o, o * tcs, tcs, value=-1.0)  # d c_t / d h_t = o (1 - tanh(c)^2)
        q = tcs * sd[:, :, :, 3]  # d pre_o / d h_t
        r = acts.new_empty((k, steps, n, 3, hid))  # d pre_(i, f, g) / d c_t
        torch.mul(g, sd[:, :, :, 0], out=r[:, :, :, 0])
        torch.mul(cs[:, :-1], sd[:, :, :, 1], out=r[:, :, :, 1])
        torch.addcmul(i, i * g, g, value=-1.0, out=r[:, :, :, 2]).mul_(0.5)
        dpre = acts.new_empty((k, steps, n, 4, hid))
        w_h = w[:, :hid].transpose(1, 2)
        dh = dh.contiguous()
        dc = torch.zeros_like(dh)
        for t in range(steps - 1, -1, -1):
            dc.addcmul_(dh, p[:, t])
            torch.mul(dh, q[:, t], out=dpre[:, t, :, 3])
            torch.mul(dc.unsqueeze(2), r[:, t], out=dpre[:, t, :, :3])
            if t:
                dh = torch.bmm(dpre[:, t].view(k, n, g4), w_h)
                dc.mul_(f[:, t])
        dw_t = torch.bmm(dpre.view(k, steps * n, g4).transpose(1, 2), u[:, :steps].reshape(k, steps * n, rows))
        return None, dw_t.transpose(1, 2)


class StackedNet(nn.Module):
    """K networks (``cell``: lstm, gru, rnn with one layer, or mlp) as stacked weights; see the module docstring."""

    def __init__(self, k: int, cell: str, n_inputs: int, lags: int, n_future: int, n_outputs: int, hidden: int,
                 dropout: float = 0.0, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.k, self.cell, self.hidden = k, cell, hidden
        self.drop = nn.Dropout(dropout)
        b = 1.0 / math.sqrt(hidden)
        if cell == "mlp":
            fan_in = n_inputs * lags + n_future
            self.w1 = _uniform(gen, (k, fan_in, hidden), 1.0 / math.sqrt(fan_in))
            self.b1 = _uniform(gen, (k, 1, hidden), 1.0 / math.sqrt(fan_in))
        else:
            g = GATES[cell] * hidden
            self.w_ih = _uniform(gen, (k, n_inputs, g), b)
            self.w_hh = _uniform(gen, (k, hidden, g), b)
            self.b_ih = _uniform(gen, (k, 1, g), b)
            self.b_hh = _uniform(gen, (k, 1, g), b)
        head_in = hidden + (0 if cell == "mlp" else n_future)
        self.w_out = _uniform(gen, (k, head_in, n_outputs), 1.0 / math.sqrt(head_in))
        self.b_out = _uniform(gen, (k, 1, n_outputs), 1.0 / math.sqrt(head_in))

    def _cell_gate_scale(self, w: torch.Tensor) -> torch.Tensor:
        """(4H,): 2 on the LSTM cell gate's columns, 1 elsewhere (see :class:`LSTMRecurrence`)."""
        scale = w.new_ones(4 * self.hidden)
        scale[2 * self.hidden:3 * self.hidden] = 2.0
        return scale

    def _recurrent(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden state (K, B, H) of the K cells over the lags of ``x`` (B, L, C)."""
        # other cells: the input projection of every step in one product, step-major (L, K, B, G)
        if self.cell == "lstm":
            w = torch.cat([self.w_hh, self.w_ih, self.b_ih + self.b_hh], dim=1)
            return LSTMRecurrence.apply(x, w * self._cell_gate_scale(w))
        xs = torch.einsum("blc,kcg->lkbg", x, self.w_ih) + self.b_ih.unsqueeze(0)
        h = x.new_zeros((self.k, x.shape[0], self.hidden))
        for gx in xs.unbind(0):  # unbind: one backward op for all steps (indexing would fill a zero tensor per step)
            gh = torch.baddbmm(self.b_hh, h, self.w_hh)
            if self.cell == "gru":
                rx, zx, nx = gx.chunk(3, dim=-1)
                rh, zh, nh = gh.chunk(3, dim=-1)
                r, z = torch.sigmoid(rx + rh), torch.sigmoid(zx + zh)
                h = (1 - z) * torch.tanh(nx + r * nh) + z * h
            else:
                h = torch.tanh(gx + gh)
        return h

    def forward_all(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The K forecasts (K, B, outputs)."""
        zk = z.unsqueeze(0).expand(self.k, -1, -1)
        if self.cell == "mlp":
            inp = torch.cat([x.flatten(1).unsqueeze(0).expand(self.k, -1, -1), zk], dim=2)
            hid = self.drop(torch.sigmoid(torch.baddbmm(self.b1, inp, self.w1)))
            return torch.baddbmm(self.b_out, hid, self.w_out)
        last = self.drop(self._recurrent(x))
        return torch.baddbmm(self.b_out, torch.cat([last, zk], dim=2), self.w_out)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The seed ensemble's forecast (B, outputs): the mean of the K networks'."""
        return self.forward_all(x, z).mean(dim=0)


def fit_stacked(model: StackedNet, X, Z, Y, val, epochs: int, patience: int, batch: int, lr: float,
                gen: torch.Generator, progress=None, label: str = "") -> dict:
    """Train the K networks of ``model`` together (see the module docstring); ``val``: (Xv, Zv, Yv) or None.
    Restores each member's best weights; returns ``best_epoch`` (the latest of the members'), ``epochs_run``,
    ``val_loss`` (of the ensemble mean) and ``history``."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n, k = len(X), model.k
    n_batches = math.ceil(n / batch)
    best = torch.full((k,), math.inf)
    best_epoch = torch.zeros(k, dtype=torch.long)
    bad = torch.zeros(k, dtype=torch.long)
    best_state = {name: p.detach().clone() for name, p in model.named_parameters()}
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(n, generator=gen)
        total = torch.zeros(k)
        for b in range(n_batches):
            idx = perm[b * batch:(b + 1) * batch]
            opt.zero_grad(set_to_none=True)
            per = ((model.forward_all(X[idx], Z[idx]) - Y[idx].unsqueeze(0)) ** 2).mean(dim=(1, 2))  # (K,)
            per.sum().backward()
            opt.step()
            total += per.detach() * len(idx)
        train_loss = total / n
        if val is not None:
            model.eval()
            with torch.no_grad():
                val_loss = ((model.forward_all(val[0], val[1]) - val[2].unsqueeze(0)) ** 2).mean(dim=(1, 2))
        else:
            val_loss = train_loss
        better = val_loss < best - 1e-9
        best = torch.where(better, val_loss, best)
        best_epoch = torch.where(better, torch.tensor(epoch), best_epoch)
        bad = torch.where(better, torch.zeros_like(bad), bad + 1)
        with torch.no_grad():
            for name, p in model.named_parameters():
                best_state[name][better] = p.detach()[better]
        history.append((float(train_loss.mean()), float(val_loss.mean())))
        if progress is not None and (epoch % 10 == 0 or epoch == 1):
            progress(f"{label} epoch {epoch}/{epochs} train {history[-1][0]:.5f} val {history[-1][1]:.5f} "
                     f"({int((bad < patience).sum())} of {k} seeds still training)")
        if bool((bad >= patience).all()):
            break
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(best_state[name])
    model.eval()
    val_mean = math.nan
    if val is not None:
        with torch.no_grad():
            val_mean = float(((model(val[0], val[1]) - val[2]) ** 2).mean())
    return {"best_epoch": int(best_epoch.max()), "epochs_run": len(history), "val_loss": val_mean,
            "history": history}
