"""The suite's own error types.

``TinyMLError`` is what user-facing failures raise: the CLI prints its message as one
line, without a traceback, and exits non-zero. ``ConfigError`` is also a ``ValueError``
so that DSP argument checks can be caught either way (librosa's ``ParameterError``
pattern).
"""

from __future__ import annotations

__all__ = ["TinyMLError", "ConfigError", "DatasetError", "DeployError", "FitError"]


class TinyMLError(Exception):
    """Base class of every error the suite raises on purpose.

    The message must be one actionable line: what is wrong, the offending value, and
    what to do about it.
    """


class ConfigError(TinyMLError, ValueError):
    """A parameter or input has a value outside its valid range.

    Examples
    --------
    >>> err = ConfigError("n_fft=500 must be a power of two (e.g. 512)")
    >>> isinstance(err, ValueError), isinstance(err, TinyMLError), str(err)
    (True, True, 'n_fft=500 must be a power of two (e.g. 512)')
    """


class DatasetError(TinyMLError):
    """A dataset folder or file is missing, empty, corrupt or does not suit the app."""


class DeployError(TinyMLError):
    """The model cannot be converted, verified or rendered for the board."""


class FitError(DeployError):
    """The model and its buffers do not fit the board's flash or RAM."""
