"""Records as documents: Word and PDF export, printing (and Word import).

``model`` is the neutral document model, ``builder`` fills it from a record
through the field registry, ``source`` picks and reads the records of a
batch, ``docx_writer`` writes Word files, ``export`` writes a batch as one
file or a zip. The PDF and print rendering needs QtGui and lives in
``app/ui/documents_pdf.py``. The importer modules read Word files back into
records. The contract: docs/documents.md.
"""
