"""Preprocessing stages, each a scikit-learn style transformer with JSON state, and their composition.

Target path: :class:`SigmaOutlierSmoother` -> :class:`MovingAverage` -> :class:`MinMaxScaling` ->
:class:`WaveletDenoiser` (or the causal stationary :class:`AtrousDenoiser`); driver path: :class:`MinMaxScaling` -> :class:`DriverPCA`; both composed by
:class:`Preprocessor` (fitted on train only) into :class:`Parts`. Definitions: design.md, "Exact definitions".
"""

from wq.preprocess._base import InputError
from wq.preprocess.atrous import AtrousDenoiser
from wq.preprocess.outliers import SigmaOutlierSmoother
from wq.preprocess.pca import DriverPCA
from wq.preprocess.pipeline import Parts, Preprocessor
from wq.preprocess.scaling import MinMaxScaling
from wq.preprocess.smoothing import MovingAverage
from wq.preprocess.wavelet import WaveletDenoiser, soft_threshold

__all__ = [
    "InputError",
    "SigmaOutlierSmoother",
    "MovingAverage",
    "MinMaxScaling",
    "WaveletDenoiser",
    "soft_threshold",
    "AtrousDenoiser",
    "DriverPCA",
    "Preprocessor",
    "Parts",
]
