"""The installed version of traffickstats (``traffickstats.__version__``)."""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("traffickstats")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"
