"""Preprocessing stages, each a scikit-learn style transformer with JSON state, and their composition.

Target path: :class:`SigmaOutlierSmoother` -> :class:`MovingAverage` -> :class:`MinMaxScaling` ->
:class:`WaveletDenoiser` (or the causal stationary :class:`AtrousDenoiser`); driver path: :class:`MinMaxScaling` -> :class:`DriverPCA`; both composed by
:class:`Preprocessor` (fitted on train only) into :class:`Parts`. Definitions: docs/definitions.md.
"""

from wq.preprocess._base import InputError
from wq.preprocess.atrous import AtrousDenoiser, AtrousParams
from wq.preprocess.outliers import OutlierParams, SigmaOutlierSmoother
from wq.preprocess.pca import DriverPCA, PCAParams
from wq.preprocess.pipeline import Parts, PreprocessParams, Preprocessor
from wq.preprocess.scaling import MinMaxScaling
from wq.preprocess.smoothing import MovingAverage, MovingAverageParams
from wq.preprocess.wavelet import WaveletDenoiser, WaveletParams, soft_threshold

__all__ = [
    "InputError",
    "SigmaOutlierSmoother",
    "MovingAverage",
    "MinMaxScaling",
    "WaveletDenoiser",
    "soft_threshold",
    "DriverPCA",
    "AtrousDenoiser",
    "AtrousParams",
    "Preprocessor",
    "PreprocessParams",
    "Parts",
    "OutlierParams",
    "MovingAverageParams",
    "WaveletParams",
    "PCAParams",
]
