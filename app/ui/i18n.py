"""Language: which translation is active, and translating the core's labels.

The core marks its labels with ``QT_TRANSLATE_NOOP``; here they are looked up
under the same contexts ("Field", "Choice", "Kind", "Validation"). Switching
language installs new translators; every widget then receives a
``LanguageChange`` event and re-labels itself in ``retranslate()``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from app.models.fields import KINDS, STATUS_LABELS, FieldSpec, Kind, Status
from app.models.validation import Problem
from app.resources import translations_dir

log = logging.getLogger("fieldbook.ui")

LANGUAGES: Mapping[str, str] = {"zh_CN": "简体中文", "en": "English"}


def resolve_language(preference: str) -> str:
    """``"system"`` becomes the system's language if we have it, else English."""
    if preference in LANGUAGES:
        return preference
    system = QLocale.system().name()
    return "zh_CN" if system.startswith("zh") else "en"


class Translations:
    """Owns the installed translators so they can be swapped at run time."""

    def __init__(self) -> None:
        self._installed: list[QTranslator] = []
        self.language = "en"

    def install(self, preference: str) -> str:
        language = resolve_language(preference)
        app = QCoreApplication.instance()
        assert app is not None
        for translator in self._installed:
            app.removeTranslator(translator)
        self._installed.clear()
        if language != "en":
            ours = QTranslator(app)
            if ours.load(f"fieldbook_{language}", str(translations_dir())):
                self._installed.append(ours)
            else:
                log.warning("No compiled translation for %s in %s", language, translations_dir())
            qt = QTranslator(app)
            if qt.load(f"qtbase_{language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
                self._installed.append(qt)
        for translator in self._installed:
            app.installTranslator(translator)
        QLocale.setDefault(QLocale(language))
        self.language = language
        return language


def tr_field(spec: FieldSpec) -> str:
    return QCoreApplication.translate("Field", spec.label)


def tr_choice(spec: FieldSpec, code: str | None) -> str:
    for choice in spec.choices:
        if choice.code == code:
            return QCoreApplication.translate("Choice", choice.label)
    return ""


def tr_status(status: str) -> str:
    try:
        return QCoreApplication.translate("Choice", STATUS_LABELS[Status(status)])
    except ValueError:
        return status


def tr_kind(kind: str, *, plural: bool = True) -> str:
    spec = KINDS[Kind(kind)]
    return QCoreApplication.translate("Kind", spec.label if plural else spec.singular)


def tr_problem(problem: Problem) -> str:
    return QCoreApplication.translate("Validation", problem.message).format(**problem.args)
