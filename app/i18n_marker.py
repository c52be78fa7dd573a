"""Marks strings for translation in code that must not import Qt.

``pyside6-lupdate`` finds ``QT_TRANSLATE_NOOP("Context", "text")`` calls by
name, so the Qt-free core can declare its user-visible labels here and the UI
translates them later with ``QCoreApplication.translate(context, text)``.
"""


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:
    """Return ``text`` unchanged; the call only marks it for lupdate."""
    del context
    return text
