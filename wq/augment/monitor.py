"""Early stopping of a learned generator on the quality of its windows, judged on held-out TRAINING windows.

:func:`split_holdout` sets a random ``fraction`` of the windows a generator is given aside (never the test
period: the generator only ever sees the caller's training windows). Every ``check_every`` epochs
:class:`QualityMonitor` draws synthetic windows conditioned on the held-out windows' own calendar and scores
them with TimeGAN's discriminative score (:func:`wq.augment.quality.discriminative_score` with its
defaults: the classifier of the final quality score, about 400 steps, not a cheaper one that would flatter
the generator): trained on the generator's training windows against synthetic ones, scored on the held-out
windows against fresh synthetic ones. A generator that only memorised its training windows scores badly here
(the classifier learns "memorised = synthetic" and the held-out windows look different). The monitor keeps a
copy of the best weights; training stops after ``patience`` checks without improvement, and the generator
ends with the best weights.
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any, Callable

import numpy as np

__all__ = ["split_holdout", "QualityMonitor", "monitored_fit", "end_of_epoch", "restore_best"]

MIN_HOLDOUT = 16
"""Fewer held-out windows than this: no monitoring (the score would be noise); train the full epochs."""


def split_holdout(X: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(windows to train on, held-out windows or None): a seeded random ``fraction`` of ``X`` held out, when
    that is at least :data:`MIN_HOLDOUT` windows and leaves at least as many to train on."""
    n_hold = int(math.floor(fraction * len(X)))
    if fraction <= 0 or n_hold < MIN_HOLDOUT or len(X) - n_hold < MIN_HOLDOUT:
        return X, None
    order = np.random.default_rng([seed, 7]).permutation(len(X))
    return X[np.sort(order[n_hold:])], X[np.sort(order[:n_hold])]


class QualityMonitor:
    """Scores a generator every ``check_every`` epochs on held-out training windows; keeps the best weights.

    ``sample(cond_windows, seed) -> windows`` draws synthetic windows in the units of ``train`` / ``holdout``
    (full windows, conditioning channels included) conditioned on the given conditioning windows.
    ``history`` holds (epoch, score) pairs; ``best`` the best score; ``best_state`` the weights' copy.
    """

    def __init__(self, train: np.ndarray, holdout: np.ndarray, condition: list[int], seed: int,
                 check_every: int = 20, patience: int = 3, max_train: int = 256) -> None:
        rng = np.random.default_rng([seed, 11])
        keep = rng.permutation(len(train))[:max_train]
        self.train, self.holdout, self.condition = train[np.sort(keep)], holdout, condition
        self.seed, self.check_every, self.patience = seed, int(check_every), int(patience)
        self.history: list[tuple[int, float]] = []
        self.best = math.inf
        self.best_epoch = 0
        self.best_state: dict[str, Any] | None = None
        self._since = 0

    def due(self, epoch: int, last: bool) -> bool:
        """Whether epoch ``epoch`` (1-based) is a check: every ``check_every`` epochs and the last one."""
        return epoch % self.check_every == 0 or last

    def check(self, epoch: int, sample: Callable[[np.ndarray, int], np.ndarray], state: Callable[[], dict]) -> bool:
        """Score the generator now; remember its weights if best. True when training should stop."""
        from wq.augment.quality import discriminative_score

        c = self.condition
        s_train = sample(self.train[:, :, c], self.seed + 100 + epoch)
        s_test = sample(self.holdout[:, :, c], self.seed + 200 + epoch)
        # the classifier of the final score (quality_report): same network, ~400 steps, batch 128
        score = discriminative_score(self.train, s_train, self.holdout, s_test, seed=self.seed)
        self.history.append((epoch, float(score)))
        if score < self.best:
            self.best, self.best_epoch, self._since = float(score), epoch, 0
            self.best_state = copy.deepcopy(state())
        else:
            self._since += 1
        return self._since >= self.patience


def monitored_fit(gen, X: np.ndarray, seed: int) -> tuple[np.ndarray, "QualityMonitor | None"]:
    """The windows a learned generator ``gen`` trains on and its :class:`QualityMonitor` (None when too few
    windows are left to hold out), from its ``holdout``, ``condition_``, ``check_every`` and ``patience``.

    No monitor either (and all windows trained on) when ``gen.epochs <= gen.check_every``: the one check such a
    run would make (at its last epoch) keeps the last weights anyway, so it would cost a classifier fit for
    nothing."""
    if int(gen.epochs) <= int(gen.check_every):
        return X, None
    fit_part, holdout = split_holdout(X, float(gen.holdout), seed)
    if holdout is None:
        return fit_part, None
    return fit_part, QualityMonitor(fit_part, holdout, gen.condition_, seed, int(gen.check_every), int(gen.patience))


def end_of_epoch(gen, monitor: "QualityMonitor | None", epoch: int, start: float, net, state) -> bool:
    """After ``epoch`` of a learned generator ``gen``: record it, check the quality when due (``net`` in eval
    mode meanwhile; ``state()`` the weights to keep), and say whether training stops (quality stalled or
    ``gen.time_budget_s`` spent since ``start``; ``gen.stopped_early_`` set then)."""
    gen.epochs_run_ = epoch
    over = gen.time_budget_s is not None and time.perf_counter() - start > float(gen.time_budget_s)
    stop = False
    if monitor is not None and monitor.due(epoch, over or epoch == int(gen.epochs)):
        net.eval()
        stop = monitor.check(epoch, gen._sample_given, state)
        net.train()
    if stop or over:
        gen.stopped_early_ = epoch < int(gen.epochs)
    return stop or over


def restore_best(gen, monitor: "QualityMonitor | None", load) -> None:
    """Give ``gen`` its best monitored weights (``load(state)``), best epoch and quality curve; without
    monitoring, the last epoch's weights stay."""
    if monitor is not None and monitor.best_state is not None:
        load(monitor.best_state)
        gen.best_epoch_, gen.quality_ = monitor.best_epoch, [[e, v] for e, v in monitor.history]
    else:
        gen.best_epoch_, gen.quality_ = gen.epochs_run_, []
