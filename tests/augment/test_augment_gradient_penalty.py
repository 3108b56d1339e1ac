"""The WGAN-GP penalty against hand values (Gulrajani et al. 2017, eq. 3)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from wq.augment import gradient_penalty


class Linear(nn.Module):
    """f(x) = sum(w * x): its gradient is w at every x, whatever the interpolate."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.w).flatten(1).sum(1)


class HalfSquare(nn.Module):
    """f(x) = ||x||^2 / 2: its gradient is x itself."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (x**2).flatten(1).sum(1)


@pytest.mark.parametrize("scale, lam", [(0.5, 10.0), (0.1, 10.0), (2.0, 3.0)])
def test_linear_critic_penalty_is_lambda_times_norm_minus_one_squared(scale, lam):
    w = torch.full((4, 3), scale)  # ||w|| = scale * sqrt(12)
    real, fake = torch.rand(16, 4, 3), torch.rand(16, 4, 3)
    gp = gradient_penalty(Linear(w), real, fake, lam=lam)
    expected = lam * (scale * math.sqrt(12) - 1.0) ** 2
    assert gp.item() == pytest.approx(expected, rel=1e-6)


def test_penalty_trains_the_critic_with_the_hand_gradient():
    # d/dw lam (||w|| - 1)^2 = 2 lam (||w|| - 1) w / ||w||
    w = torch.tensor([[0.3, -0.4], [1.2, 0.0]])
    critic = Linear(w)
    gradient_penalty(critic, torch.rand(8, 2, 2), torch.rand(8, 2, 2), lam=10.0).backward()
    norm = w.norm()
    torch.testing.assert_close(critic.w.grad, 2 * 10.0 * (norm - 1) * w / norm)


def test_interpolates_use_one_uniform_eps_per_sample():
    real, fake = torch.rand(5, 3, 2), torch.rand(5, 3, 2)
    gp = gradient_penalty(HalfSquare(), real, fake, generator=torch.Generator().manual_seed(7), lam=2.0)
    eps = torch.rand(5, 1, 1, generator=torch.Generator().manual_seed(7))
    x_hat = eps * real + (1 - eps) * fake
    expected = 2.0 * ((x_hat.flatten(1).norm(dim=1) - 1) ** 2).mean()
    assert gp.item() == pytest.approx(expected.item(), rel=1e-6)
    # a different eps gives a different penalty, so the check above is not vacuous
    other = gradient_penalty(HalfSquare(), real, fake, generator=torch.Generator().manual_seed(8), lam=2.0)
    assert other.item() != pytest.approx(gp.item(), rel=1e-6)


def test_unit_norm_gradient_has_no_penalty():
    w = torch.zeros(2, 2)
    w[0, 0] = 1.0
    assert gradient_penalty(Linear(w), torch.rand(4, 2, 2), torch.rand(4, 2, 2)).item() == pytest.approx(0.0, abs=1e-12)


def test_shapes_must_match():
    with pytest.raises(ValueError, match="shape"):
        gradient_penalty(HalfSquare(), torch.rand(4, 3, 2), torch.rand(5, 3, 2))
