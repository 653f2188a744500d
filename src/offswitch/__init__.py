"""offswitch: measure and stop self- and peer-preservation in AI agents."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("offswitch")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
