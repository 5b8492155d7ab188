"""Dependencies shared by the routers: the process runtime and the admin check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.runtime import Runtime
from app.services.disclosure import ADMIN, PUBLIC, Reader

_bearer = HTTPBearer(auto_error=False, description="An admin token from WITHHELD_ADMIN_TOKENS.")
UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


# Every dependency here is ``async``: FastAPI runs a plain ``def`` one in a worker thread, a
# hand-off that costs more than the dependency's work.


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def require_admin(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The authenticated admin's name (what audit records show), or 401."""
    if not runtime.tokens.configured:
        raise HTTPException(
            401,
            detail="Authorization: writes are disabled because no admin token is configured "
            "(set WITHHELD_ADMIN_TOKENS)",
            headers=UNAUTHORIZED,
        )
    if credentials is None:
        raise HTTPException(
            401, detail="Authorization: bearer token required", headers=UNAUTHORIZED
        )
    name = runtime.tokens.authenticate(credentials.credentials)
    if name is None:
        raise HTTPException(401, detail="Authorization: invalid bearer token", headers=UNAUTHORIZED)
    return name


AdminDep = Annotated[str, Depends(require_admin)]


async def optional_admin(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str | None:
    """For reads open to everyone that show more to an admin: the admin's name, None without
    a bearer token, 401 for a token that is presented but not valid."""
    if credentials is None:
        return None
    return await require_admin(runtime, credentials)


OptionalAdminDep = Annotated[str | None, Depends(optional_admin)]


async def reader(admin: OptionalAdminDep) -> Reader:
    """Who reads, for the disclosure policy: an admin, or the public (no bearer token)."""
    return PUBLIC if admin is None else ADMIN


ReaderDep = Annotated[Reader, Depends(reader)]
# In OpenAPI: the bearer token is optional here (an empty requirement alongside it).
OPTIONAL_AUTH: dict[str, Any] = {"security": [{}]}
