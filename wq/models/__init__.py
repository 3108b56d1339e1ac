"""Forecasters: the dual residual forecaster, the study's comparison models and plain baselines."""

from wq.models.base import Forecaster
from wq.models.registry import MODEL_NAMES, RECIPES, load_model, make_model, model_class, model_from_files

__all__ = ["Forecaster", "MODEL_NAMES", "RECIPES", "load_model", "make_model", "model_class", "model_from_files"]
