"""Language: which translation is active, and translating the core's labels.

The core marks its labels with ``QT_TRANSLATE_NOOP``; here they are looked up
under the same contexts ("Field", "Choice", "Kind", "Validation"). Switching
language installs new translators; every widget then receives a
``LanguageChange`` event and re-labels itself in ``retranslate()``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from app.errors import ValidationFailed
from app.i18n_marker import QT_TRANSLATE_NOOP
from app.models.fields import KINDS, STATUS_LABELS, FieldSpec, Kind, Status
from app.models.validation import Problem
from app.resources import translations_dir

log = logging.getLogger("fieldbook.ui")

LANGUAGES: Mapping[str, str] = {"zh_CN": "简体中文", "en": "English"}

# Qt's own strings that its zh_CN translation (qtbase_zh_CN.qm, in the
# PySide6 wheel and in Debian's qt6-translations-l10n alike) lacks: Qt 6 gave
# these file dialog labels a mnemonic after its translators last passed, so
# "Look in:" is translated and "&Look in:" is not. Marked here, they land in
# our .ts under Qt's own context, and our translator answers for them.
QT_STRINGS_MISSING_FROM_QTBASE = (
    QT_TRANSLATE_NOOP("QFileDialog", "&Look in:"),
    QT_TRANSLATE_NOOP("QFileDialog", "Files of &type:"),
)

# One way to show a moment, in both languages: the dates as everywhere in the
# app (ISO, like the date fields) and a 24-hour clock — never the locale's
# short format, which in English gives "12/4/26 11:44 PM" beside "23:45".
DATE_FORMAT = "%Y-%m-%d"
CLOCK_FORMAT = "%H:%M"


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


def tr_error(exc: Exception) -> str:
    """What a failed write says to the user: a refused value's problems in
    their language, anything else as the error says it."""
    if isinstance(exc, ValidationFailed):
        return " ".join(tr_problem(p) if isinstance(p, Problem) else str(p) for p in exc.problems.values())
    return str(exc)


def local_time(value: dt.datetime) -> dt.datetime:
    """A stored time (UTC; naive ones are UTC too) in this computer's time zone."""
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone()


def format_clock(value: dt.datetime, *, seconds: bool = False) -> str:
    """"23:45" (or "23:45:07"), local time, 24-hour in every language."""
    return local_time(value).strftime(CLOCK_FORMAT + (":%S" if seconds else ""))


def format_datetime(value: dt.datetime) -> str:
    """"2026-12-04 23:45", local time: what lists, threads and the queue show."""
    return local_time(value).strftime(f"{DATE_FORMAT} {CLOCK_FORMAT}")
