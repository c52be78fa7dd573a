"""Where the bundled resources (translations, icons, styles) are."""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def resource_dir() -> Path:
    """``resources/`` in a checkout or editable install; the wheel's copy otherwise."""
    checkout = Path(__file__).resolve().parent.parent / "resources"
    if checkout.is_dir():
        return checkout
    import fieldbook_resources  # type: ignore[import-not-found]  # the wheel's copy

    return Path(next(iter(fieldbook_resources.__path__)))


def translations_dir() -> Path:
    return resource_dir() / "i18n"
