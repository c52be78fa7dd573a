"""The API's routers, mounted under ``/api/v1`` by ``app.server.app``."""
