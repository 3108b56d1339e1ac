"""Adversarial generators of windows: GAN, WGAN and WGAN-GP -- one trainer, three losses.

* ``gan`` (Goodfellow et al. 2014): discriminator trained with binary cross-entropy on logits; one-sided
  label smoothing (real labels drawn uniformly in ``label_smoothing`` = [0.9, 1], fake labels 0; Salimans
  et al. 2016) and, optionally, each label flipped with probability ``label_flip``; non-saturating
  generator loss -log D(G(z)). Adam lr 2e-4, betas (0.5, 0.999) (Radford et al. 2016); one discriminator
  step per generator step.
* ``wgan`` (Arjovsky et al. 2017): critic loss E[D(fake)] - E[D(real)], every critic weight clipped to
  [-0.01, 0.01] after each critic step, RMSprop lr 5e-5, n_critic = 5; generator loss -E[D(G(z))].
* ``wgan-gp`` (Gulrajani et al. 2017): the WGAN loss plus the gradient penalty
  lambda * E[(||grad D(x_hat)||_2 - 1)^2] at random interpolates, lambda = 10, n_critic = 5, Adam lr 1e-4,
  betas (0.5, 0.9) as in the authors' code; no batch norm in the critic.

Architecture (sized to the data, hidden = 4 units per channel in [16, 64] unless given): the generator is a
GRU fed by a global code (its initial state) and one noise vector per step, with a tanh output; the
critic is two 1-D convolutions over time and a linear layer. Windows are mapped per channel to [-1, 1]
with the range seen in ``fit`` and mapped back when sampling.

An epoch is about one pass of the real windows through the critic: ``ceil(N / (batch * n_critic))``
generator steps, each after ``n_critic`` critic steps on fresh mini-batches of a shuffled stream.

Cost: 60 epochs (the default) on 1,500 windows of 20 x 8 take about 21 s (WGAN-GP), 16 s (GAN) and 10 s
(WGAN) of one CPU core (torch.set_num_threads(1); measured on a shared 2-core machine). More threads do
not help networks this small and, on a busy machine, make training many times slower. At the papers'
learning rates 60 epochs are a few hundred generator steps, far from converged: raise ``epochs`` (or
set ``time_budget_s``) or ``lr`` for real use.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F_

from wq.augment.base import WindowGenerator, _check_float, _check_fraction, _check_int
from wq.augment.monitor import end_of_epoch, monitored_fit, restore_best
from wq.augment.nets import ConvCritic, RecurrentGenerator, default_hidden, seeded
from wq.errors import ConfigError

__all__ = ["AdversarialGenerator", "gradient_penalty", "LOSSES"]

LOSSES = ("gan", "wgan", "wgan-gp")

# Per-loss defaults, tuned for a 60-s CPU budget (reports/benchmarks/augment/quality): (optimizer, lr, betas,
# n_critic). The papers' rates (GAN 2e-4, WGAN 5e-5, WGAN-GP 1e-4) are far from trained in that budget.
_DEFAULTS: dict[str, tuple[str, float, tuple[float, float] | None, int]] = {
    "gan": ("adam", 1e-3, (0.5, 0.999), 1),
    "wgan": ("rmsprop", 5e-4, None, 5),
    "wgan-gp": ("adam", 1e-3, (0.5, 0.9), 3),
}

# Per-loss default mini-batch (``batch=None``). GAN 32: better than 64 on the generators' own held-out training
# windows on 3 of 4 datasets (mean early-stopping score 0.28 against 0.31); WGAN-GP 32 tied with 64 (0.152 against
# 0.158, better on 2 of 4), so 64 stays (reports/benchmarks/augment/quality).
_BATCH = {"gan": 32, "wgan": 64, "wgan-gp": 64}


def gradient_penalty(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    generator: torch.Generator | None = None,
    lam: float = 10.0,
) -> torch.Tensor:
    """WGAN-GP gradient penalty (Gulrajani et al. 2017, eq. 3).

    ``lam * mean_i (||grad_x critic(x_hat_i)||_2 - 1)^2`` with ``x_hat_i = eps_i * real_i + (1 - eps_i) *
    fake_i`` and ``eps_i ~ U(0, 1)`` drawn once per sample (``torch.rand(n, 1, ..., generator=generator)``);
    the norm is over all of a sample's entries. The graph is kept (``create_graph=True``) so the penalty
    trains the critic.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} differ in shape")
    x_hat = _interpolates(real, fake, generator)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return _penalty(grad, lam)


def _interpolates(real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), generator=generator, dtype=real.dtype)
    return (eps * real.detach() + (1.0 - eps) * fake.detach()).requires_grad_(True)


def _penalty(grad: torch.Tensor, lam: float) -> torch.Tensor:
    return lam * ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()


class AdversarialGenerator(WindowGenerator):
    """GAN / WGAN / WGAN-GP generator of windows ``(N, L, F)`` (see the module docstring for the losses).

    Parameters are stored as given; ``None`` means the per-loss default, tuned for a 60-s CPU budget
    (:meth:`resolved_settings`): ``hidden`` (4 per channel in [16, 64]), ``n_critic`` (gan 1, wgan 5, wgan-gp
    3), ``lr`` (gan 1e-3, wgan 5e-4, wgan-gp 1e-3; the papers' 2e-4, 5e-5, 1e-4 are far from trained in that
    budget), ``betas`` (Adam: gan (0.5, 0.999), wgan-gp (0.5, 0.9); WGAN uses RMSprop, no betas) and
    ``batch`` (gan 32, wgan 64, wgan-gp 64).
    ``time_budget_s`` stops training after the first epoch that ends past the budget; the result then
    depends on the machine's speed (``stopped_early_`` tells). Learned: ``generator_``, ``critic_``,
    ``history_`` (per epoch: critic/discriminator and generator losses, and for the Wasserstein losses
    the estimate E[D(real)] - E[D(fake)] and the penalty), ``epochs_run_``, ``stopped_early_``.
    """

    def __init__(
        self,
        loss: str = "wgan-gp",
        epochs: int = 200,
        batch: int | None = None,
        latent: int = 16,
        hidden: int | None = None,
        n_critic: int | None = None,
        lr: float | None = None,
        betas: tuple[float, float] | None = None,
        clip: float = 0.01,
        gp_lambda: float = 10.0,
        label_smoothing: tuple[float, float] = (0.9, 1.0),
        label_flip: float = 0.0,
        time_budget_s: float | None = None,
        lr_critic: float | None = None,
        holdout: float = 0.2,
        check_every: int = 20,
        patience: int = 3,
    ) -> None:
        self.loss = loss
        self.epochs = epochs
        self.batch = batch
        self.latent = latent
        self.hidden = hidden
        self.n_critic = n_critic
        self.lr = lr
        self.betas = betas
        self.clip = clip
        self.gp_lambda = gp_lambda
        self.label_smoothing = label_smoothing
        self.label_flip = label_flip
        self.time_budget_s = time_budget_s
        self.lr_critic = lr_critic
        self.holdout = holdout
        self.check_every = check_every
        self.patience = patience

    @property
    def method(self) -> str:  # type: ignore[override]
        return self.loss

    def _validate_settings(self) -> None:
        if self.loss not in LOSSES:
            raise ConfigError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        _check_int("epochs", self.epochs, 0)
        if self.batch is not None:
            _check_int("batch", self.batch, 1)
        _check_int("latent", self.latent, 1)
        if self.hidden is not None:
            _check_int("hidden", self.hidden, 1)
        if self.n_critic is not None:
            _check_int("n_critic", self.n_critic, 1)
        if self.lr is not None:
            _check_float("lr", self.lr)
        if self.betas is not None:
            b = list(self.betas) if isinstance(self.betas, (list, tuple)) else None
            if b is None or len(b) != 2 or not all(isinstance(v, (int, float)) and 0 <= v < 1 for v in b):
                raise ConfigError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        _check_float("clip", self.clip)
        _check_float("gp_lambda", self.gp_lambda, strict=False)
        s = list(self.label_smoothing) if isinstance(self.label_smoothing, (list, tuple)) else None
        if s is None or len(s) != 2 or not all(isinstance(v, (int, float)) for v in s) or not 0 <= s[0] <= s[1] <= 1:
            raise ConfigError(
                f"label_smoothing must be (low, high) with 0 <= low <= high <= 1, got {self.label_smoothing!r}"
            )
        if not isinstance(self.label_flip, (int, float)) or not 0 <= self.label_flip <= 0.5:
            raise ConfigError(f"label_flip must be a probability in [0, 0.5], got {self.label_flip!r}")
        if self.time_budget_s is not None:
            _check_float("time_budget_s", self.time_budget_s)
        if self.lr_critic is not None:
            _check_float("lr_critic", self.lr_critic)
        _check_fraction("holdout", self.holdout)
        _check_int("check_every", self.check_every, 1)
        _check_int("patience", self.patience, 1)

    def _resolved(self) -> tuple[str, float, tuple[float, float] | None, int]:
        opt, lr, betas, n_critic = _DEFAULTS[self.loss]
        lr = float(self.lr) if self.lr is not None else lr
        if self.betas is not None:
            betas = (float(self.betas[0]), float(self.betas[1]))
        n_critic = int(self.n_critic) if self.n_critic is not None else n_critic
        return opt, lr, betas, n_critic

    def _batch(self) -> int:
        return int(self.batch) if self.batch is not None else _BATCH[self.loss]

    def resolved_settings(self) -> dict[str, Any]:
        """The optimizer, learning rate, betas and n_critic this generator trains with (defaults resolved)."""
        self._validate_settings()
        opt, lr, betas, n_critic = self._resolved()
        lr_c = float(self.lr_critic) if self.lr_critic is not None else lr
        return {"optimizer": opt, "lr": lr, "lr_critic": lr_c, "betas": list(betas) if betas else None,
                "n_critic": n_critic, "batch": self._batch()}

    def _optimizer(self, params: Any, critic: bool) -> torch.optim.Optimizer:
        opt, lr, betas, _ = self._resolved()
        if critic and self.lr_critic is not None:
            lr = float(self.lr_critic)
        if opt == "rmsprop":
            return torch.optim.RMSprop(params, lr=lr)
        try:  # the fused CPU kernel (torch >= 2.4) cuts the per-step overhead that dominates at these sizes
            return torch.optim.Adam(params, lr=lr, betas=betas or (0.9, 0.999), fused=True)
        except (RuntimeError, TypeError, ValueError):
            return torch.optim.Adam(params, lr=lr, betas=betas or (0.9, 0.999))

    def _build(self, L: int, F: int) -> None:
        self.hidden_ = int(self.hidden) if self.hidden is not None else default_hidden(F)
        n_cond = len(self.condition_)
        self.generator_ = RecurrentGenerator(int(self.latent), self.hidden_, F - n_cond, n_cond)
        self.critic_ = ConvCritic(F, L, self.hidden_)

    # size: the adversarial training loop (critic and generator steps, penalty, early stop) reads best whole
    def _fit(self, X: np.ndarray, seed: int) -> None:
        _, L, F = X.shape
        names = {
            "gan": ["discriminator", "generator"],
            "wgan": ["critic", "generator", "wasserstein"],
            "wgan-gp": ["critic", "generator", "wasserstein", "gradient_penalty"],
        }[self.loss]
        self.history_ = {k: [] for k in names}
        self.stopped_early_, self.epochs_run_, self.best_epoch_ = False, 0, 0
        fit_part, monitor = monitored_fit(self, X, seed)
        start = time.perf_counter()
        with seeded(seed):
            self._build(L, F)
            data = torch.from_numpy(self._scale_unit(fit_part))
            opt_g = self._optimizer(self.generator_.parameters(), critic=False)
            opt_d = self._optimizer(self.critic_.parameters(), critic=True)
            for epoch in range(1, int(self.epochs) + 1):
                sums = self._epoch(data, opt_g, opt_d, names)
                for k in names:
                    self.history_[k].append(sums[k])
                if end_of_epoch(self, monitor, epoch, start, self.generator_, self.generator_.state_dict):
                    break
        restore_best(self, monitor, self.generator_.load_state_dict)
        self.generator_.eval()
        self.critic_.eval()

    def _fake(self, real: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Full synthetic windows: generated free channels, conditioning channels of ``real`` (RCGAN)."""
        if not self.condition_:
            return self.generator_(noise)
        cond = real[:, :, self.condition_]
        out = torch.empty_like(real)
        out[:, :, self.condition_] = cond
        out[:, :, self.free_] = self.generator_(noise, cond)
        return out

    def _critic_loss(self, real: torch.Tensor, fake: torch.Tensor, sums: dict, steps: int) -> torch.Tensor:
        D, batch = self.critic_, real.shape[0]
        if self.loss == "wgan-gp":  # one critic call on real, fake and interpolates: no batch coupling
            x_hat = _interpolates(real, fake)
            d_real, d_fake, d_hat = D(torch.cat([real, fake, x_hat])).view(3, batch)
        else:
            d_real, d_fake = D(torch.cat([real, fake])).view(2, batch)
        if self.loss == "gan":
            lo, hi = (float(v) for v in self.label_smoothing)
            flip = float(self.label_flip)
            y_real, y_fake = torch.empty(batch).uniform_(lo, hi), torch.zeros(batch)
            if flip > 0:
                y_real = torch.where(torch.rand(batch) < flip, 1.0 - y_real, y_real)
                y_fake = torch.where(torch.rand(batch) < flip, 1.0 - y_fake, y_fake)
            return F_.binary_cross_entropy_with_logits(d_real, y_real) + F_.binary_cross_entropy_with_logits(
                d_fake, y_fake)
        w = d_real.mean() - d_fake.mean()
        sums["wasserstein"] += float(w.detach()) / steps
        if self.loss == "wgan":
            return -w
        (grad,) = torch.autograd.grad(d_hat.sum(), x_hat, create_graph=True)
        gp = _penalty(grad, float(self.gp_lambda))
        sums["gradient_penalty"] += float(gp.detach()) / steps
        return gp - w

    def _epoch(self, data: torch.Tensor, opt_g, opt_d, names: list[str]) -> dict[str, float]:
        """One epoch: about one pass of the real windows through the critic."""
        N, L, _ = data.shape
        n_critic = self._resolved()[3]
        batch = min(self._batch(), N)
        iters = max(1, math.ceil(N / (batch * n_critic)))
        steps = iters * n_critic
        D, latent = self.critic_, int(self.latent)
        order = torch.cat([torch.randperm(N) for _ in range(math.ceil(steps * batch / N))])[: steps * batch]
        order = order.view(steps, batch)
        sums = dict.fromkeys(names, 0.0)
        for it in range(iters):
            D.requires_grad_(True)
            for k in range(n_critic):
                real = data[order[it * n_critic + k]]
                with torch.no_grad():
                    fake = self._fake(real, torch.randn((batch, L + 1, latent)))
                d_loss = self._critic_loss(real, fake, sums, steps)
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()
                if self.loss == "wgan":
                    with torch.no_grad():
                        for p in D.parameters():
                            p.clamp_(-float(self.clip), float(self.clip))
                sums[names[0]] += float(d_loss.detach()) / steps
            D.requires_grad_(False)
            real = data[order[it * n_critic]]
            score = D(self._fake(real, torch.randn((batch, L + 1, latent))))
            if self.loss == "gan":  # non-saturating: -log D(G(z))
                g_loss = F_.binary_cross_entropy_with_logits(score, torch.ones_like(score))
            else:
                g_loss = -score.mean()
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            sums["generator"] += float(g_loss.detach()) / iters
        D.requires_grad_(True)
        return sums

    def _generate(self, cond_units: np.ndarray | None, n: int) -> np.ndarray:
        """Free channels (n, L, len(free_)) in [-1, 1] units, given conditioning channels in those units."""
        L, _ = self.window_shape_
        out = []
        with torch.no_grad():
            for start in range(0, n, 4096):  # bounded memory for large n
                m = min(4096, n - start)
                noise = torch.randn(m, L + 1, int(self.latent))
                c = None if cond_units is None else torch.from_numpy(cond_units[start:start + m])
                out.append(self.generator_(noise, c))
        return torch.cat(out).numpy()

    def _sample_given(self, cond_windows: np.ndarray, seed: int) -> np.ndarray:
        """Synthetic windows (data units) conditioned on ``cond_windows`` (n, L, len(condition_))."""
        n, L = len(cond_windows), self.window_shape_[0]
        full = np.zeros((n, L, self.window_shape_[1]), dtype=np.float32)
        full[:, :, self.condition_] = cond_windows
        units = self._scale_unit(full)
        with seeded(seed):
            units[:, :, self.free_] = self._generate(units[:, :, self.condition_] if self.condition_ else None, n)
        out = self._unscale_unit(units)
        out[:, :, self.condition_] = cond_windows
        return out

    def _sample(self, n: int, seed: int, idx: np.ndarray) -> np.ndarray:
        return self._sample_given(self.cond_windows_[idx], seed)

    def _tensors(self) -> dict[str, Any]:
        return dict(self.generator_.state_dict())

    def _extra_state(self) -> dict[str, Any]:
        return {
            "hidden": self.hidden_,
            "epochs_run": getattr(self, "epochs_run_", 0),
            "stopped_early": getattr(self, "stopped_early_", False),
            "best_epoch": getattr(self, "best_epoch_", 0),
            "quality": getattr(self, "quality_", []),
        }

    def _set_extra_state(self, extra: dict[str, Any]) -> None:
        self.hidden_ = int(extra["hidden"])
        self.epochs_run_ = int(extra.get("epochs_run", 0))
        self.stopped_early_ = bool(extra.get("stopped_early", False))
        self.best_epoch_ = int(extra.get("best_epoch", 0))
        self.quality_ = [[int(e), float(v)] for e, v in extra.get("quality", [])]

    def _set_tensors(self, tensors: dict[str, Any]) -> None:
        _, F = self.window_shape_
        n_cond = len(self.condition_)
        self.generator_ = RecurrentGenerator(int(self.latent), self.hidden_, F - n_cond, n_cond)
        self.generator_.load_state_dict(tensors, strict=True)
        self.generator_.eval()

