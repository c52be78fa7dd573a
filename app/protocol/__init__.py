"""The wire protocol between the desktop client and the sync server.

It lives below both of them so neither can drift from the other: the client
(``app.sync``) and the server (``app.server``) import these definitions, and
this package imports nothing from ``app`` but ``app.errors``/``app.paths``.
"""
