"""``docs/benchmarks.md``: each benchmark rewrites only its own section."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
_HEADER = (
    "# Benchmarks\n\n"
    "How fast Fieldbook is on a large, realistic store, and how to measure it again.\n"
    "`make bench` (`python -m bench.run_all`) regenerates each section between its\n"
    "`<!-- bench:NAME:start -->` / `<!-- bench:NAME:end -->` markers and leaves the\n"
    "rest of this file alone.\n"
)


def markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"


def write_section(name: str, section: str, doc: Path = DOC) -> None:
    """Replace the section ``name`` between its markers (appended when absent,
    the file made when missing); the rest of the file stays as it is."""
    start, end = markers(name)
    block = f"{start}\n{section}{end}"
    text = doc.read_text("utf-8") if doc.exists() else _HEADER
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _old, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, "utf-8")
