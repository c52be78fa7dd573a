"""Fieldbook: offline-first lesson plans, training records and exchange logs."""

__version__ = "0.1.0"
