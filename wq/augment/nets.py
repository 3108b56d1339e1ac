"""Small torch networks for short multivariate windows (L ~ 10-30 steps, F ~ 5-10 channels).

Windows enter and leave as ``(n, L, F)`` tensors. Sizes follow the data: see :func:`default_hidden`.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import nn


def default_hidden(n_features: int) -> int:
    """Hidden width sized to the data: 4 units per channel, between 16 and 64."""
    return int(min(64, max(16, 4 * n_features)))


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block with torch's CPU generator seeded, restoring the caller's random state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


class RecurrentGenerator(nn.Module):
    """Noise ``(n, L + 1, latent)`` (and conditions ``(n, L, n_cond)``) -> window ``(n, L, F)`` in [-1, 1].

    Row 0 of the noise is a global code that sets the LSTM's initial state (the window's level, its
    "mode"); rows 1..L are per-step inputs (the variation within the window), as TimeGAN's generator
    takes a random vector per step. Conditioning channels (the calendar of each step; RCGAN, Esteban et
    al. 2017) are concatenated to the per-step inputs, and the network outputs only the other channels.
    An LSTM rather than a GRU: on CPU its backward pass is 2-3x faster in torch at these sizes.
    """

    def __init__(self, latent: int, hidden: int, n_features: int, n_cond: int = 0) -> None:
        super().__init__()
        self.n_cond = int(n_cond)
        self.init = nn.Linear(latent, 2 * hidden)
        self.rnn = nn.LSTM(latent + self.n_cond, hidden, batch_first=True)
        self.out = nn.Linear(hidden, n_features)

    def forward(self, noise: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h0, c0 = torch.tanh(self.init(noise[:, 0])).unsqueeze(0).chunk(2, dim=2)
        steps = noise[:, 1:]
        if self.n_cond:
            steps = torch.cat([steps, cond], dim=2)
        # contiguous: a strided input sends torch's CPU RNN down a path ~30x slower
        y, _ = self.rnn(steps.contiguous(), (h0.contiguous(), c0.contiguous()))
        return torch.tanh(self.out(y))


class ConvCritic(nn.Module):
    """Window ``(n, L, F)`` -> one score per window ``(n,)``: two 1-D convolutions over time (kernel 3)
    with leaky ReLU, then a linear layer over all steps. No batch norm, so each window's score depends on
    that window only, as the gradient penalty requires (Gulrajani et al. 2017, sec. 4)."""

    def __init__(self, n_features: int, length: int, hidden: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(n_features, hidden, kernel_size=3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv1d(hidden, hidden, kernel_size=3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(hidden * length, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.transpose(1, 2)).squeeze(1)


class RecurrentEncoder(nn.Module):
    """Window ``(n, L, F)`` -> (mean, log-variance) of a Gaussian code ``(n, latent)`` each (LSTM)."""

    def __init__(self, n_features: int, hidden: int, latent: int) -> None:
        super().__init__()
        self.rnn = nn.LSTM(n_features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 2 * latent)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, (h, _) = self.rnn(x)
        mu, logvar = self.head(h[-1]).chunk(2, dim=1)
        return mu, logvar


class RecurrentClassifier(nn.Module):
    """Window ``(n, L, F)`` -> one logit per window: a GRU and a linear layer on its last state."""

    def __init__(self, n_features: int, hidden: int) -> None:
        super().__init__()
        self.gru = nn.GRU(n_features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.gru(x)
        return self.head(h[-1]).squeeze(1)


class RecurrentPredictor(nn.Module):
    """Sequence ``(n, T, F_in)`` -> one prediction per step ``(n, T, F_out)``: GRU + linear."""

    def __init__(self, n_in: int, hidden: int, n_out: int) -> None:
        super().__init__()
        self.gru = nn.GRU(n_in, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.gru(x)
        return self.head(y)
