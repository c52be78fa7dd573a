"""The FastAPI application: ``create_app(settings)``.

Imports no Qt: the server runs on machines without a display.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from app.protocol.blobs import ALLOWED_TYPES
from app.protocol.sync import API_PREFIX, PROTOCOL_VERSION
from app.server import blob_store
from app.server.config import Settings
from app.server.database import make_engine, make_sessionmaker
from app.server.deps import SessionDep
from app.server.errors import ApiError, CatchAllMiddleware, install_error_handlers
from app.server.middleware import BodyLimitMiddleware, DrainBodyMiddleware, ProtocolMiddleware
from app.server.routers import auth, blobs, me, parcels, sync
from app.server.schemas import HealthResponse, error_responses

log = logging.getLogger("fieldbook.server")

RESPONSE_GZIP_MIN_BYTES = 500
# Attachments are compressed already (photos, zip-based Office files) or
# served in byte ranges: never gzip them again.
NO_GZIP_TYPES = (*DEFAULT_EXCLUDED_CONTENT_TYPES, *ALLOWED_TYPES, "application/octet-stream")
GC_FIRST_DELAY_SECONDS = 10 * 60  # after start-up, when things are quiet
GC_INTERVAL_SECONDS = 24 * 60 * 60


async def _collect_garbage_daily(app: FastAPI) -> None:
    """``fieldbook-server gc`` once a day while serving (docs/attachments.md).
    A failed run is logged and the next one comes a day later."""
    await asyncio.sleep(GC_FIRST_DELAY_SECONDS)
    while True:
        try:
            await run_in_threadpool(_collect_garbage, app)
        except Exception:
            log.exception("Garbage collection of attachments failed")
        await asyncio.sleep(GC_INTERVAL_SECONDS)


def _collect_garbage(app: FastAPI) -> None:
    with app.state.sessionmaker() as session:
        blob_store.collect_garbage(session, app.state.settings)


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, collect_garbage: bool = False
) -> FastAPI:
    """The server app. ``settings`` defaults to ``Settings.from_env()``; pass
    ``engine`` to share one (the caller then disposes it). ``collect_garbage``
    runs the attachments' garbage collection daily in the background (on in
    ``fieldbook-server serve``; off by default, so tests are not surprised)."""
    settings = settings if settings is not None else Settings.from_env()
    own_engine = engine is None
    engine = engine if engine is not None else make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_collect_garbage_daily(app)) if collect_garbage else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if own_engine:
            engine.dispose()

    app = FastAPI(
        title="Fieldbook sync server",
        version=str(PROTOCOL_VERSION),
        description="Sign-in and field-by-field sync for the Fieldbook desktop app (see docs/sync.md).",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)

    install_error_handlers(app)
    # Added innermost first: a request meets DrainBody, CatchAll, GZip, BodyLimit, Protocol.
    app.add_middleware(ProtocolMiddleware)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(
        GZipMiddleware, minimum_size=RESPONSE_GZIP_MIN_BYTES, exclude_content_types=NO_GZIP_TYPES
    )
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(DrainBodyMiddleware)

    @app.get("/health", response_model=HealthResponse, tags=["health"], responses=error_responses(503))
    def health(session: SessionDep) -> HealthResponse:
        try:
            session.execute(text("SELECT 1"))
        except Exception:
            log.warning("Health check: the database does not answer", exc_info=True)
            raise ApiError(503, "database_unavailable", "The server cannot reach its database.") from None
        return HealthResponse(status="ok", protocol=PROTOCOL_VERSION)

    api = APIRouter(prefix=API_PREFIX)
    api.include_router(auth.router)
    api.include_router(me.router)
    api.include_router(sync.router)
    api.include_router(blobs.router)
    api.include_router(parcels.router)
    app.include_router(api)
    return app
