"""Labels in the user's language outside the window (the command line).

The window passes Qt's own ``QCoreApplication.translate``. The command line
has no QApplication and must run where Qt is not installed (a server), so it
loads the compiled ``.qm`` with a bare ``QTranslator`` when PySide6 is there
(QtCore only, imported here and only when asked) and otherwise prints the
English source labels. It lives in app/ui because only app/ui touches Qt;
importing it loads nothing of Qt until a translation is asked for.
"""

from __future__ import annotations

import logging

from app.documents.model import Translate, no_translation
from app.resources import translations_dir

log = logging.getLogger("fieldbook.documents")


def load_translate(language: str) -> Translate:
    """``translate(context, source)`` for ``language`` ("en": the source)."""
    if language == "en":
        return no_translation
    try:
        from PySide6.QtCore import QTranslator
    except ImportError:
        log.warning("Qt is not installed: the document's labels stay in English")
        return no_translation
    translator = QTranslator()
    if not translator.load(f"fieldbook_{language}", str(translations_dir())):
        log.warning("No translation for %s in %s: labels stay in English", language, translations_dir())
        return no_translation

    def translate(context: str, source: str) -> str:
        return translator.translate(context, source) or source

    return translate
