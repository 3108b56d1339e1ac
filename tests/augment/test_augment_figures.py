from __future__ import annotations

import numpy as np
import pytest

from wq.augment.figures import plot_losses, plot_marginals, plot_overlay, plot_pca
from wq.errors import ConfigError, DataError

PNG = b"\x89PNG\r\n\x1a\n"


def test_every_figure_writes_a_png(windows, tmp_path):
    synth = np.clip(windows + 0.05, 0, 1)
    paths = [
        plot_losses({"critic": [1.0, 0.5, 0.2], "generator": [0.1, 0.2, 0.3]}, tmp_path / "losses.png"),
        plot_overlay(windows, synth, tmp_path / "overlay.png", channel_names=["a", "b", "c"]),
        plot_marginals(windows, synth, tmp_path / "marginals.png"),
        plot_pca(windows, synth, tmp_path / "sub" / "pca.png"),
    ]
    for path in paths:
        assert path.read_bytes()[:8] == PNG and path.stat().st_size > 2000


def test_figure_inputs_are_checked(windows, tmp_path):
    with pytest.raises(ConfigError, match="2 names for 3 channels"):
        plot_overlay(windows, windows, tmp_path / "x.png", channel_names=["a", "b"])
    with pytest.raises(DataError):
        plot_marginals(windows, windows[:, :4], tmp_path / "x.png")
