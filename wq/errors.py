"""Exceptions of wq. Every error caused by the user's input derives from :class:`WqError`;
the command line prints its message on one line and exits with status 2."""


class WqError(Exception):
    """Bad input: data, pipeline, option or artifact. The CLI exits 2 with the message."""


class DataError(WqError):
    """A data file cannot be used: names the file, and the row and column where it can."""


class ConfigError(WqError):
    """A pipeline file or command-line option is invalid."""


class ArtifactError(WqError):
    """A model artifact is missing, tampered with, or incompatible."""


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit`` (the same bases as scikit-learn's exception of that name). A
    programming error, not bad input: the CLI treats it as unexpected."""
