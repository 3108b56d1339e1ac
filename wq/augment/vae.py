"""Variational autoencoder over windows (Kingma & Welling 2014), sampled from its prior with its noise.

Encoder: an LSTM over the window -> mean mu and log-variance log s^2 of a Gaussian code z (``latent``
dims). Reparameterization: z = mu + s * e, e ~ N(0, I). Decoder: an LSTM whose initial state and every
input step are set by z (and the copied calendar), with a tanh output mu_x, in the per-channel [-1, 1] units
of the fitted range. The decoder is Gaussian, p(x | z) = N(mu_x(z), diag(sigma_c^2)) with one variance per
generated channel c, calibrated as in the sigma-VAE (Rybkin, Daniilidis & Levine 2021): sigma_c^2 is set to
its maximum-likelihood value, the mean squared reconstruction error of channel c over the mini-batch
(detached, floored at 1e-6). Loss per window = reconstruction + beta * KL, averaged over a mini-batch:

* reconstruction = -log p(x | z) = sum over the L x F_free entries of (x - mu_x)^2 / (2 sigma_c^2)
  + L * sum_c log sigma_c (+ a constant);
* KL(q(z|x) || N(0, I)) = -1/2 * sum_j (1 + log s_j^2 - mu_j^2 - s_j^2).

``noise_std_`` (per generated channel, [-1, 1] units) is sigma_c estimated on the generator's training
windows only: the mean over the epoch's mini-batches of sigma_c^2, square-rooted (the reconstructions use z
drawn from the posterior, as in training). Sampling draws z ~ N(0, I), decodes mu_x given the calendar, and
adds e * noise_std_ with e ~ N(0, I) per step and channel -- a sample of the model, not its mean window (the
mean alone is too smooth: a classifier told it from real windows every time, discriminative score 0.45-0.50).

Cost: 100 epochs on 1,500 windows of 20 x 8 take about 19 s of one CPU core.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from wq.augment.base import WindowGenerator, _check_float, _check_fraction, _check_int
from wq.augment.monitor import end_of_epoch, monitored_fit, restore_best
from wq.augment.nets import RecurrentEncoder, RecurrentGenerator, default_hidden, seeded

__all__ = ["WindowVAE"]

_MIN_VAR = 1e-6  # floor of a channel's decoder variance ([-1, 1] units): a constant channel stays finite
_NOISE_KEY = "noise.std"


def _decoder_input(z: torch.Tensor, length: int) -> torch.Tensor:
    """Code (n, latent) -> decoder input (n, L + 1, latent): row 0 sets the state, rows 1..L feed z."""
    return z.unsqueeze(1).expand(-1, length + 1, -1)


class WindowVAE(WindowGenerator):
    """VAE generator of windows ``(N, L, F)`` (see the module docstring for the loss).

    ``hidden=None`` sizes the LSTMs to the data (4 units per channel in [16, 64]). ``time_budget_s`` stops
    after the first epoch that ends past the budget (then machine-dependent; ``stopped_early_`` tells).
    Learned: ``encoder_``, ``decoder_``, ``history_`` ("loss", "reconstruction", "kl" per epoch, means
    per window), ``epochs_run_``, ``stopped_early_``.
    """

    method = "vae"

    def __init__(
        self,
        epochs: int = 200,
        latent: int = 8,
        hidden: int | None = None,
        beta: float = 1.0,
        lr: float = 1e-3,
        batch: int = 64,
        time_budget_s: float | None = None,
        holdout: float = 0.2,
        check_every: int = 20,
        patience: int = 3,
    ) -> None:
        self.epochs = epochs
        self.latent = latent
        self.hidden = hidden
        self.beta = beta
        self.lr = lr
        self.batch = batch
        self.time_budget_s = time_budget_s
        self.holdout = holdout
        self.check_every = check_every
        self.patience = patience

    def _validate_settings(self) -> None:
        _check_int("epochs", self.epochs, 0)
        _check_int("latent", self.latent, 1)
        if self.hidden is not None:
            _check_int("hidden", self.hidden, 1)
        _check_float("beta", self.beta, strict=False)
        _check_float("lr", self.lr)
        _check_int("batch", self.batch, 1)
        if self.time_budget_s is not None:
            _check_float("time_budget_s", self.time_budget_s)
        _check_fraction("holdout", self.holdout)
        _check_int("check_every", self.check_every, 1)
        _check_int("patience", self.patience, 1)

    def _build(self, F: int, hidden: int) -> None:
        self.hidden_ = hidden
        self.encoder_ = RecurrentEncoder(F, self.hidden_, int(self.latent))
        n_cond = len(self.condition_)
        self.decoder_ = RecurrentGenerator(int(self.latent), self.hidden_, F - n_cond, n_cond)
        self.noise_std_ = torch.zeros(F - n_cond)  # set by every epoch (and by loading)

    def _fit(self, X: np.ndarray, seed: int) -> None:
        _, L, F = X.shape
        self.history_ = {"loss": [], "reconstruction": [], "kl": []}
        self.epochs_run_, self.stopped_early_, self.best_epoch_ = 0, False, 0
        fit_part, monitor = monitored_fit(self, X, seed)
        start = time.perf_counter()
        with seeded(seed):
            self._build(F, int(self.hidden) if self.hidden is not None else default_hidden(F))
            data = torch.from_numpy(self._scale_unit(fit_part))
            params = list(self.encoder_.parameters()) + list(self.decoder_.parameters())
            opt = torch.optim.Adam(params, lr=float(self.lr))
            for epoch in range(1, int(self.epochs) + 1):
                rec, kl = self._epoch(data, opt)
                self.history_["loss"].append(rec + float(self.beta) * kl)
                self.history_["reconstruction"].append(rec)
                self.history_["kl"].append(kl)
                if end_of_epoch(self, monitor, epoch, start, self.decoder_, self._tensors):
                    break
        restore_best(self, monitor, self._load)
        self.encoder_.eval()
        self.decoder_.eval()

    def _epoch(self, data: torch.Tensor, opt) -> tuple[float, float]:
        """One pass over the windows (the last incomplete batch dropped): mean reconstruction and KL."""
        N, L, _ = data.shape
        batch = min(int(self.batch), N)
        steps = max(1, N // batch)
        rec_sum, kl_sum = 0.0, 0.0
        var_sum = torch.zeros(len(self.free_))
        for idx in torch.randperm(N)[: steps * batch].view(steps, batch):
            x = data[idx]
            mu, logvar = self.encoder_(x)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            cond = x[:, :, self.condition_] if self.condition_ else None
            x_rec = self.decoder_(_decoder_input(z, L), cond)
            sq = (x[:, :, self.free_] - x_rec) ** 2
            var = sq.detach().mean(dim=(0, 1)).clamp_min(_MIN_VAR)  # calibrated decoder (sigma-VAE)
            rec = (sq / (2.0 * var)).sum(dim=(1, 2)).mean() + 0.5 * L * torch.log(var).sum()
            kl = (-0.5 * (1.0 + logvar - mu**2 - logvar.exp()).sum(dim=1)).mean()
            loss = rec + float(self.beta) * kl
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            rec_sum += float(rec.detach()) / steps
            var_sum += var / steps
            kl_sum += float(kl.detach()) / steps
        self.noise_std_ = torch.sqrt(var_sum)
        return rec_sum, kl_sum

    def _sample_given(self, cond_windows: np.ndarray, seed: int, noise: bool = True) -> np.ndarray:
        """Synthetic windows (data units) conditioned on ``cond_windows``: z drawn from the prior, decoded,
        plus the decoder's Gaussian noise (``noise=False``: the decoded mean window, for inspection)."""
        n, (L, F) = len(cond_windows), self.window_shape_
        full = np.zeros((n, L, F), dtype=np.float32)
        full[:, :, self.condition_] = cond_windows
        units = self._scale_unit(full)
        out = []
        with seeded(seed), torch.no_grad():
            for start in range(0, n, 4096):
                m = min(4096, n - start)
                c = torch.from_numpy(units[start:start + m][:, :, self.condition_]) if self.condition_ else None
                mean = self.decoder_(_decoder_input(torch.randn(m, int(self.latent)), L), c)
                eps = torch.randn_like(mean)  # drawn either way, so noise=False gives the same z's mean
                out.append(mean + eps * self.noise_std_ if noise else mean)
        units[:, :, self.free_] = torch.cat(out).numpy()
        result = np.clip(self._unscale_unit(units), self.data_min_, self.data_max_)  # as sample() clips
        result[:, :, self.condition_] = cond_windows
        return result

    def _sample(self, n: int, seed: int, idx: np.ndarray) -> np.ndarray:
        return self._sample_given(self.cond_windows_[idx], seed)

    def encode(self, W: np.ndarray) -> np.ndarray:
        """Posterior means mu (N, latent) of windows in the fitted units (for inspection)."""
        from wq.augment.base import check_windows

        self._check_fitted()
        X = check_windows(W, "W")
        if X.shape[1:] != self.window_shape_:
            from wq.errors import DataError

            raise DataError(f"W: windows of shape {X.shape[1:]} but the VAE was fitted on {self.window_shape_}")
        with torch.no_grad():
            mu, _ = self.encoder_(torch.from_numpy(self._scale_unit(X)))
        return mu.numpy()

    def decoded_mean(self, cond_windows: np.ndarray, seed: int = 0) -> np.ndarray:
        """The decoder's mean windows mu_x(z) (data units) for the z that ``_sample_given(cond_windows, seed)``
        draws: what sampling would return without the observation noise (for inspection and tests)."""
        self._check_fitted()
        return self._sample_given(np.asarray(cond_windows, dtype=np.float32), seed, noise=False)

    def _tensors(self) -> dict[str, Any]:
        out = {f"decoder.{k}": v for k, v in self.decoder_.state_dict().items()}
        out.update({f"encoder.{k}": v for k, v in self.encoder_.state_dict().items()})
        out[_NOISE_KEY] = self.noise_std_.detach().clone()
        return out

    def _extra_state(self) -> dict[str, Any]:
        return {"hidden": self.hidden_, "epochs_run": self.epochs_run_, "stopped_early": self.stopped_early_,
                "best_epoch": getattr(self, "best_epoch_", 0), "quality": getattr(self, "quality_", [])}

    def _set_extra_state(self, extra: dict[str, Any]) -> None:
        self.hidden_ = int(extra["hidden"])
        self.epochs_run_ = int(extra.get("epochs_run", 0))
        self.stopped_early_ = bool(extra.get("stopped_early", False))
        self.best_epoch_ = int(extra.get("best_epoch", 0))
        self.quality_ = [[int(e), float(v)] for e, v in extra.get("quality", [])]

    def _set_tensors(self, tensors: dict[str, Any]) -> None:
        _, F = self.window_shape_
        self._build(F, self.hidden_)
        self._load(tensors)

    def _load(self, tensors: dict[str, Any]) -> None:
        noise = tensors.get(_NOISE_KEY)
        if noise is None:
            raise ValueError(f"no {_NOISE_KEY!r} tensor: refit the VAE (files before the noisy decoder lack it)")
        self.noise_std_ = noise.detach().clone().to(torch.float32).reshape(len(self.free_))
        for prefix, module in (("decoder.", self.decoder_), ("encoder.", self.encoder_)):
            part = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
            module.load_state_dict(part, strict=True)
            module.eval()
