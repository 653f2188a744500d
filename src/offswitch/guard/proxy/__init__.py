"""The guard as a proxy in front of an agent harness's model API.

Importing this package is cheap: each name loads on first use.
"""

from offswitch._lazy import lazy_face

_SOURCES = {
    "GuardProxy": "offswitch.guard.proxy._app",
    "ProxySettings": "offswitch.guard.proxy._app",
}

__getattr__, __dir__ = lazy_face(__name__, _SOURCES)

__all__ = list(_SOURCES)
