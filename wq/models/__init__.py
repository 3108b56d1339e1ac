"""Forecasters: the dual residual forecaster, the study's comparison models and plain baselines."""

from wq.models.base import Forecaster
from wq.models.registry import MODEL_NAMES, RECIPES, make_model, model_class

__all__ = ["Forecaster", "MODEL_NAMES", "RECIPES", "make_model", "model_class"]
