"""Console scripts, and what they share: the package version.

oslo.messaging imports eventlet when it is installed (oslo.service depends
on it), which warns that eventlet is deprecated. nova-livemig never
monkey-patches and runs the threading executor only, so the warning says
nothing to an operator: it is silenced for the console scripts.
"""

import importlib.metadata
import warnings

warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')

DISTRIBUTION = 'nova-livemig'


def version_string():
    """The installed package version (pbr writes it into the metadata).

    >>> bool(version_string())
    True
    """
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return 'unknown (not installed)'
