"""Alembic migrations of the server database (run by ``app.server.database.run_migrations``)."""
