"""Fixtures: a store holding one full record of each kind, Chinese labels."""

from __future__ import annotations

import pytest

from app.documents.model import Translate
from app.models.fields import Kind
from app.models.store import RecordData, Store
from app.ui.documents_translation import load_translate
from tests.documents.samples import AUTHOR, SAMPLES


@pytest.fixture
def records(store: Store) -> dict[Kind, RecordData]:
    return {kind: store.create(kind.value, values, author=AUTHOR) for kind, values in SAMPLES.items()}


@pytest.fixture(scope="session")
def zh() -> Translate:
    return load_translate("zh_CN")


@pytest.fixture
def gui(qapp: object) -> object:
    """Qt for the PDF writer: pytest-qt's application (one per session)."""
    return qapp
