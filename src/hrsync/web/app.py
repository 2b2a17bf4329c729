"""The portal application: routers, session middleware, static files, API reference and error pages.

The API reference (``/api/docs``; ``/docs`` redirects there) is Swagger UI 5 as shipped in the
``fastapi-offline`` package (``swagger-ui-bundle`` ships Swagger UI 4, which cannot read the
OpenAPI 3.1 document FastAPI writes), served from this origin: it works without internet access.

Each module named in :data:`ROUTER_MODULES` holds one area of the portal and exposes ``router``;
they are included in that order (the order decides which route wins where paths could overlap).
"""

from __future__ import annotations

import importlib
import importlib.resources
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from hrsync.config import get_settings
from hrsync.scim.routes import router as scim_router
from hrsync.services.errors import NotFound
from hrsync.services.imports import RunNotFound
from hrsync.services.throttle import SharedThrottle
from hrsync.store.types import utcnow
from hrsync.web.body_limits import MULTIPART_ALLOWANCE, BodySizeLimitMiddleware
from hrsync.web.deps import (
    STATIC_DIR,
    CsrfFailed,
    LoginRequired,
    PageNotFound,
    ReadOnlyRedirect,
    login_redirect_target,
    render,
    templates,
)
from hrsync.web.security import SessionMiddleware, session_signing_key

log = logging.getLogger(__name__)

# Scripts only from our own static files (no inline script: an injected <script> cannot run);
# inline style attributes are allowed for things like a progress bar's width.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)

# Sent with every response when HRSYNC_BASE_URL is https: a year, this host only. No includeSubDomains:
# the portal usually lives on a subdomain of a company domain whose other hosts it cannot vouch for.
HSTS = "max-age=31536000"
# Our own static files (scripts, styles, the API reference's assets) hold nobody's data: a cache may keep them.
CACHEABLE_PREFIXES = ("/static/", "/api/docs/assets/")

API_DOCS_PATH = "/api/docs"
API_DOCS_ASSETS = "/api/docs/assets"
OPENAPI_PATH = "/api/v1/openapi.json"
# The API reference page: its scripts and styles are ours; Swagger UI sets inline styles.
API_DOCS_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)

ROUTER_MODULES = [
    "ops", "auth", "integrations", "scim_setup", "wizard", "wizard_file", "wizard_settings", "wizard_mapping",
    "wizard_review", "dashboard", "runs", "members_manual", "members", "tokens", "emails", "member_portal", "trace",
    "api", "api_members", "hooks",
]


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _page_not_found(request: Request, what: str = "This page") -> Response:
    if _is_api(request):
        return JSONResponse({"detail": f"{what} was not found."}, status_code=404)
    return render(request, "error.html", {"title": "Not found", "status": 404,
                                          "message": f"{what} was not found, or it belongs to another programme."},
                  status_code=404)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """The methods some route answers at this request's path (for a 405's ``Allow`` header)."""
    routes = request.app.router.routes
    return [method for method in _METHODS
            if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)]


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(PageNotFound)
    async def _not_found(request: Request, exc: PageNotFound) -> Response:
        return _page_not_found(request, exc.what)

    @app.exception_handler(NotFound)
    async def _service_not_found(request: Request, exc: NotFound) -> Response:
        if _is_api(request):  # the API names what (an id of the caller's own request); a page says "this item"
            return JSONResponse({"detail": exc.reason}, status_code=404)
        return _page_not_found(request, "This item")

    @app.exception_handler(RunNotFound)
    async def _run_not_found(request: Request, exc: RunNotFound) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": exc.reason}, status_code=404)
        return _page_not_found(request, "This import")

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "Not authenticated."}, status_code=401)
        return RedirectResponse(login_redirect_target(request), status_code=303)

    @app.exception_handler(ReadOnlyRedirect)
    async def _read_only(request: Request, exc: ReadOnlyRedirect) -> Response:
        return RedirectResponse(exc.to, status_code=303)

    @app.exception_handler(CsrfFailed)
    async def _csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        return render(request, "error.html", {
            "title": "Form expired", "status": 403,
            "message": "This form has expired or did not come from this site. Go back, reload the page "
                       "and try again.",
        }, status_code=403)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _page_not_found(request)
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # Allow lists every method of the address, not only the first route's
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        if _is_api(request) or exc.status_code not in (403, 405):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)
        return render(request, "error.html", {"title": "Not allowed", "status": exc.status_code,
                                              "message": str(exc.detail)}, status_code=exc.status_code)


def _include_routers(app: FastAPI) -> list[str]:
    included: list[str] = []
    for name in ROUTER_MODULES:
        module: Any = importlib.import_module(f"hrsync.web.{name}")
        app.include_router(module.router)
        included.append(name)
    return included


def _install_api_docs(app: FastAPI) -> None:
    assets = importlib.resources.files("fastapi_offline") / "static"
    app.mount(API_DOCS_ASSETS, StaticFiles(directory=str(assets)), name="api-docs-assets")

    @app.get(API_DOCS_PATH, include_in_schema=False)
    def api_docs(request: Request) -> Response:
        response = templates.TemplateResponse(request, "api_docs.html", {
            "assets": API_DOCS_ASSETS, "openapi_url": OPENAPI_PATH,
        })
        response.headers["Content-Security-Policy"] = API_DOCS_POLICY
        return response

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        return RedirectResponse(API_DOCS_PATH, status_code=308)


def create_app() -> FastAPI:
    """The portal and the JSON API, ready for uvicorn."""
    app = FastAPI(
        title="hrsync",
        summary="Imports HR directories and membership files into a rewards programme's members.",
        docs_url=None,
        redoc_url=None,
        openapi_url=OPENAPI_PATH,
    )
    _install_api_docs(app)
    app.state.login_throttle = SharedThrottle()
    app.state.routers = _include_routers(app)
    app.include_router(scim_router)  # /scim/v2: identity providers' SCIM clients (docs/scim.md)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.state.session_clock = utcnow  # what "now" is for portal sessions (tests move it)
    app.add_middleware(SessionMiddleware, secret=session_signing_key())
    settings = get_settings()  # bodies are limited before the session, the CSRF check or a route reads them
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes,
                       upload_max_bytes=settings.file_max_bytes + MULTIPART_ALLOWANCE)

    hsts = get_settings().base_url.strip().lower().startswith("https://")

    @app.middleware("http")
    async def _security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Link pages carry a token in their address, and every page shows people's data: no page is
        # kept in a cache or named in a Referer header (docs/security.md, "Links and logs").
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if not request.url.path.startswith(CACHEABLE_PREFIXES):
            response.headers.setdefault("Cache-Control", "no-store")
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if not _is_api(request):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response

    _install_error_pages(app)
    return app


__all__ = ["API_DOCS_PATH", "CONTENT_SECURITY_POLICY", "ROUTER_MODULES", "create_app"]
