"""Who may call the JSON API, decided before anything else of a request is read.

Every operation of the API router is an :class:`ApiRoute`. Its handler checks the bearer token, the
scope the operation declares and the token maker's role *first*: only then does FastAPI read the
path, the query and the body. So a caller without a valid token gets ``401`` whatever it sends (a
malformed body, an id out of range), one without the scope ``403``, and nothing of the request is
parsed on their behalf.

An operation declares its scope by taking one of :data:`ReadToken`, :data:`ImportToken`,
:data:`ApproveToken` or :data:`MembersToken` as a parameter; an operation of the router that declares none
is refused when the app is built (:class:`MissingScope`), so a new operation cannot forget to be guarded. The
route class also documents what every operation can answer besides its own statuses: ``400`` for a
body that is not JSON (operations with a body), ``404`` for an id that names nothing in the token's
programme (operations with a path parameter), and ``413`` for a body over the limit
(:mod:`hrsync.web.body_limits`); an operation without a response model or a declared media type is
refused too (:class:`MissingResponseModel`).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hrsync.services.admins import token_may_change
from hrsync.services.api_tokens import authenticate_api_token, has_scope
from hrsync.store.db import session_scope
from hrsync.store.enums import TokenScope
from hrsync.store.models import ApiToken
from hrsync.web.api_models import ErrorOut
from hrsync.web.deps import SessionDep

Responses = dict[int | str, dict[str, Any]]

#: What every operation can answer before its own code runs.
COMMON_RESPONSES: Responses = {
    401: {"model": ErrorOut, "description": "No valid API token (missing, unknown, revoked, expired, or its "
          "owner was deactivated). Checked before the request's parameters and body are read."},
    403: {"model": ErrorOut, "description": "The token lacks the scope this request needs (named in detail), or "
          "its maker is a read-only administrator and the request would change something."},
    413: {"model": ErrorOut, "description": "The request body is larger than the API accepts "
          "(HRSYNC_MAX_BODY_BYTES); it is refused unread."},
}
BAD_BODY: Responses = {400: {"model": ErrorOut, "description": "The body could not be read as JSON text "
                             "(for example, it is not UTF-8)."}}
NOT_FOUND: Responses = {404: {"model": ErrorOut, "description": "Nothing with this id in the token's programme "
                              "(another programme's object is answered the same way); detail names what."}}

_bearer = HTTPBearer(auto_error=False, description="An API token created under Settings → API tokens.")

UNAUTHORISED = "A valid API token is required: send 'Authorization: Bearer <token>'."
_SCOPE_ATTRIBUTE = "hrsync_token_scope"
_ADMITTED = "hrsync_api_token_id"


class MissingScope(TypeError):
    """An API operation that declares no token scope (take ReadToken, ImportToken, ApproveToken or MembersToken)."""


class MissingResponseModel(TypeError):
    """An API operation whose answer has no schema (give response_model, or a media type in responses)."""


def _unauthorised() -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=UNAUTHORISED,
                         headers={"WWW-Authenticate": 'Bearer realm="hrsync"'})


def _raw_token(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


def _admit(request: Request, scope: TokenScope) -> None:
    """401, 403 or nothing; the admitted token's id is kept on the request for :func:`api_token`."""
    with session_scope() as session:  # committed at once (the last-used stamp, refused or not): no lock is held
        token = authenticate_api_token(session, _raw_token(request))
        refusal = _refusal(session, token, scope) if token is not None else None
        token_id = token.id if token is not None else None
    if token_id is None:
        raise _unauthorised()
    if refusal is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=refusal)
    setattr(request.state, _ADMITTED, token_id)


def _refusal(session: Session, token: ApiToken, scope: TokenScope) -> str | None:
    if not has_scope(token, scope):
        return (f"This API token lacks the '{scope.value}' scope, which this request needs. Create a token with it "
                "under Settings → API tokens.")
    if scope != TokenScope.READ and not token_may_change(session, token):
        return ("This token was made by a read-only administrator: it can read, but not start imports or decide on "
                "held runs.")
    return None


def declared_scope(dependant: Dependant) -> TokenScope | None:
    """The scope an operation's parameters ask for (searched through its dependencies)."""
    for dependency in dependant.dependencies:
        found = getattr(dependency.call, _SCOPE_ATTRIBUTE, None) or declared_scope(dependency)
        if found is not None:
            return found
    return None


class ApiRoute(APIRoute):
    """An API operation: the token, its scope and its maker's role are checked before the request is read."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        declared = {str(code) for code in self.responses}
        if self.response_model is None and str(self.status_code or 200) not in declared:
            raise MissingResponseModel(f"{path}: give the operation a response_model (or declare its media type)")
        if self.body_field is not None:
            self.responses = {**BAD_BODY, **self.responses}
        if self.param_convertors:
            self.responses = {**NOT_FOUND, **self.responses}

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        scope = declared_scope(self.dependant)
        if scope is None:
            raise MissingScope(f"{self.path}: take ReadToken, ImportToken, ApproveToken or MembersToken")
        handler = super().get_route_handler()

        async def token_first(request: Request) -> Response:
            await run_in_threadpool(_admit, request, scope)
            return await handler(request)

        return token_first


def api_token(request: Request, session: SessionDep, _: Annotated[Any, Depends(_bearer)]) -> ApiToken:
    """The token :class:`ApiRoute` admitted, in the request's session (``_bearer`` documents the scheme)."""
    token_id = getattr(request.state, _ADMITTED, None)
    token = session.get(ApiToken, token_id) if token_id is not None else None
    if token is None:  # only an operation outside an ApiRoute gets here
        raise _unauthorised()
    return token


def _needs(scope: TokenScope) -> Callable[[ApiToken], ApiToken]:
    def token_with_scope(token: Annotated[ApiToken, Depends(api_token)]) -> ApiToken:
        return token  # ApiRoute checked the scope before the request was read

    setattr(token_with_scope, _SCOPE_ATTRIBUTE, scope)
    return token_with_scope


ReadToken = Annotated[ApiToken, Depends(_needs(TokenScope.READ))]
ImportToken = Annotated[ApiToken, Depends(_needs(TokenScope.IMPORT))]
ApproveToken = Annotated[ApiToken, Depends(_needs(TokenScope.APPROVE))]
MembersToken = Annotated[ApiToken, Depends(_needs(TokenScope.MEMBERS))]

# The portal's session per request (committed before the response leaves).
ApiSession = SessionDep

__all__ = ["COMMON_RESPONSES", "NOT_FOUND", "ApiRoute", "ApiSession", "ApproveToken", "ImportToken",
           "MembersToken", "MissingResponseModel", "MissingScope", "ReadToken", "Responses", "api_token",
           "declared_scope"]
