"""wq: forecasting water quality and water demand."""

__version__ = "0.1.0"

from wq.errors import ArtifactError, ConfigError, DataError, WqError  # noqa: E402

__all__ = ["__version__", "WqError", "DataError", "ConfigError", "ArtifactError"]
