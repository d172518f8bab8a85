"""Who is calling: a Bearer API key, or nobody when the server runs without keys.

Rules:

* A request with ``Authorization: Bearer <token>`` must carry an active key; the key's id
  becomes the owner of everything the request makes or reads.
* A request without a token is refused (401) once any active key exists, or always when the server
  was started with ``keys_required`` (bound to a non-loopback address). Otherwise auth is off and
  the caller's owner is None: the loopback operator sees everything.
* The operator's routes (the console, ``/v1/admin``) answer an admin key (``vidgate keys create
  --admin``) or the operator of a server without auth; a plain key gets 403 ``admin_required``.
"""

from __future__ import annotations

from dataclasses import dataclass

from vidgate.errors import AdminRequired, Unauthorized
from vidgate.tenancy.keys import KeyStore
from vidgate.tenancy.tables import KeyRole

__all__ = ["Authenticator", "Caller"]


@dataclass(frozen=True)
class Caller:
    """The authenticated caller; ``owner`` is the key id, None when auth is off."""

    owner: str | None
    key_name: str | None = None
    #: The key is an admin key.
    admin: bool = False

    @property
    def rate_key(self) -> str:
        return self.owner or "-"

    def require_admin(self) -> None:
        """Raise :class:`~vidgate.errors.AdminRequired` unless this caller is the operator: an
        admin key, or nobody on a server without auth."""
        if self.owner is not None and not self.admin:
            raise AdminRequired(
                f"the API key {self.owner} is not an admin key; the operator's routes need one "
                "(make it with `vidgate keys create --name NAME --admin`)"
            )


class Authenticator:
    def __init__(self, keys: KeyStore, *, keys_required: bool = False) -> None:
        self.keys = keys
        self.keys_required = keys_required

    async def auth_enabled(self) -> bool:
        """Whether a request needs a key; asked anew each time, so a new key counts at once."""
        return self.keys_required or await self.keys.count_active() > 0

    async def caller(self, authorization: str | None) -> Caller:
        """The caller a request's Authorization header names; Unauthorized if it names none."""
        if authorization:
            scheme, _, token = authorization.strip().partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                raise Unauthorized("use Authorization: Bearer <API key>")
            key = await self.keys.authenticate(token)
            if key is None:
                raise Unauthorized("the API key is unknown or revoked")
            return Caller(key.id, key.name, admin=key.role is KeyRole.ADMIN)
        if await self.auth_enabled():
            raise Unauthorized(
                "an API key is required: send Authorization: Bearer <key> "
                "(make one with `vidgate keys create --name NAME`)"
            )
        return Caller(None)
