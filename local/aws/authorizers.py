"""API Gateway's JWT authorizer for HTTP APIs, emulated from the template's ``Auth.Authorizers``.

What it checks, in AWS's order ("Authorizing API requests with a JWT authorizer",
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html):

1. the identity source holds a token, alone or prefixed with ``Bearer``;
2. the token decodes (three base64url parts, JSON header and payload);
3. its algorithm is RSA-based (``RS256``/``RS384``/``RS512``), its ``kid`` names a key of the
   configured issuer's JWKS, and the signature verifies with that key;
4. claims: ``iss`` is the configured issuer; ``aud`` matches an audience entry, or, only when the
   token has no ``aud``, ``client_id`` does ("API Gateway validates client_id only if aud is not
   present", https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-jwt.html);
   ``exp`` is after now; ``nbf`` and ``iat``, when present, before now; and, if the route asks for
   ``AuthorizationScopes``, ``scope`` (or ``scp``) holds at least one of them.

Every check fails closed: anything missing, malformed or of the wrong type refuses the request.
A refusal is API Gateway's own answer, before any function runs:

* no token: ``401 {"message":"Unauthorized"}`` with ``www-authenticate: Bearer``;
* a token that fails a check: ``401 {"message":"Unauthorized"}`` with
  ``www-authenticate: Bearer scope="" error="invalid_token" error_description="<why>"``
  (the troubleshooting page above shows this header for an audience that does not match);
* a valid token without a required scope: ``403 {"message":"Forbidden"}`` with
  ``www-authenticate: Bearer scope="<the route's scopes>" error="insufficient_scope" ...``.

Only the audience wording of ``error_description`` is published; the others follow its pattern.
Granted requests carry the claims as API Gateway presents them in payload format 2.0
(``requestContext.authorizer.jwt``): every claim value a string, numbers in decimal, lists as
``[a b]``; ``scopes`` is the token's scope list on a route with ``AuthorizationScopes``, else null.
docs/local-stack.md lists the sources and what is inferred.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from local.aws.apigw import HttpResponse

#: The JWKS document of an issuer, given the issuer (``https://cognito-idp.<region>.amazonaws.com/<pool>``).
KeySource = Callable[[str], Mapping[str, Any]]

_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "RS256": hashes.SHA256,
    "RS384": hashes.SHA384,
    "RS512": hashes.SHA512,
}
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]*$")
#: How long a fetched JWKS is trusted before an unknown ``kid`` makes the authorizer fetch it again
#: (API Gateway caches the issuer's keys for up to two hours).
KEYS_REFRESH_AFTER = 60.0


def _json_response(status: int, message: str, challenge: str) -> HttpResponse:
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return HttpResponse(status, {"Content-Type": "application/json", "www-authenticate": challenge}, body)


def unauthorized(description: str | None) -> HttpResponse:
    """API Gateway's 401: ``Bearer`` alone when there was no token, else ``invalid_token`` and why."""
    if description is None:
        return _json_response(401, "Unauthorized", "Bearer")
    challenge = f'Bearer scope="" error="invalid_token" error_description="{description}"'
    return _json_response(401, "Unauthorized", challenge)


def forbidden(scopes: Sequence[str]) -> HttpResponse:
    """API Gateway's 403 for a valid token that holds none of the route's scopes."""
    wanted = " ".join(scopes)
    challenge = (
        f'Bearer scope="{wanted}" error="insufficient_scope" '
        f'error_description="the token does not have any of the required scopes"'
    )
    return _json_response(403, "Forbidden", challenge)


@dataclass(frozen=True)
class Granted:
    """What the function sees in ``requestContext.authorizer``."""

    claims: dict[str, str]
    scopes: list[str] | None

    def context(self) -> dict[str, Any]:
        return {"jwt": {"claims": self.claims, "scopes": self.scopes}}


@dataclass(frozen=True)
class Refused:
    response: HttpResponse
    reason: str  # for the local stack's log line; never the token


class _Invalid(Exception):
    """A token that fails a check: ``description`` goes into ``error_description``."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def claim_text(value: Any) -> str:
    """A claim value as payload format 2.0 shows it: a string (``[a b]`` for a list)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        return "[" + " ".join(claim_text(item) for item in value) + "]"
    return json.dumps(value, separators=(",", ":"))


def _shown(claims: Mapping[str, Any]) -> dict[str, str]:
    """Every claim as ``claim_text`` shows it; lists nested deeper than it recurses fail closed."""
    try:
        return {name: claim_text(value) for name, value in claims.items()}
    except RecursionError:
        raise _Invalid("the token's claims are nested too deeply") from None


def _decode_part(part: str) -> bytes:
    if not _BASE64URL.match(part):
        raise _Invalid("the token is not a valid JWT")
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise _Invalid("the token is not a valid JWT") from None


def _decode_json(part: str) -> dict[str, Any]:
    try:
        decoded = json.loads(_decode_part(part))
    except (ValueError, RecursionError):  # RecursionError: nested deeper than ``json`` decodes
        raise _Invalid("the token is not a valid JWT") from None
    if not isinstance(decoded, dict):
        raise _Invalid("the token is not a valid JWT")
    return decoded


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    """A time claim as a finite number of seconds; anything else (also an integer too large for a
    float, or JSON's ``1e400``, ``Infinity`` and ``NaN``) refuses the token."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(f"the token has an invalid {name} claim")
    try:
        seconds = float(value)
    except OverflowError:
        raise _Invalid(f"the token has an invalid {name} claim") from None
    if not math.isfinite(seconds):
        raise _Invalid(f"the token has an invalid {name} claim")
    return seconds


def _rsa_key(jwk: Mapping[str, Any]) -> rsa.RSAPublicKey:
    def integer(name: str) -> int:
        value = jwk.get(name)
        if not isinstance(value, str):
            raise _Invalid("the issuer's key for the token is not an RSA key")
        return int.from_bytes(_decode_part(value), "big")

    try:
        return rsa.RSAPublicNumbers(integer("e"), integer("n")).public_key()
    except ValueError:
        raise _Invalid("the issuer's key for the token is not an RSA key") from None


def token_scopes(claims: Mapping[str, Any]) -> list[str]:
    """``scope`` (space-separated) or, without it, ``scp`` (a list or a space-separated string)."""
    value = claims.get("scope", claims.get("scp"))
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    return []


class JwtAuthorizer:
    """One JWT authorizer of an HTTP API: an issuer, its audiences, where the token is read."""

    def __init__(
        self,
        issuer: str,
        audience: Sequence[str],
        keys: KeySource,
        identity_source: str = "$request.header.Authorization",
        clock: Callable[[], float] = time.time,
    ) -> None:
        source = re.fullmatch(r"\$request\.(header|querystring)\.([\w-]+)", identity_source)
        if not source:
            raise ValueError(f"unsupported identity source for a JWT authorizer: {identity_source}")
        self.issuer = issuer
        self.audience = tuple(audience)
        self._where, self._name = source.group(1), source.group(2)
        self._keys = keys
        self._clock = clock
        self._jwks: Mapping[str, Any] | None = None
        self._fetched = 0.0
        self._lock = threading.Lock()

    def authorize(
        self, headers: Mapping[str, str], query: str = "", scopes: Sequence[str] = ()
    ) -> Granted | Refused:
        token = self._token(headers, query)
        if token is None:
            return Refused(unauthorized(None), "no token")
        try:
            claims = self._verified_claims(token)
            shown = _shown(claims)
        except _Invalid as invalid:
            return Refused(unauthorized(invalid.description), invalid.description)
        held = token_scopes(claims)
        if scopes and not set(held) & set(scopes):
            return Refused(forbidden(scopes), "none of the route's scopes")
        return Granted(shown, held if scopes else None)

    # ------------------------------------------------------------------ the checks
    def _token(self, headers: Mapping[str, str], query: str) -> str | None:
        if self._where == "header":
            wanted = self._name.lower()
            value = next((v for k, v in headers.items() if k.lower() == wanted), "")
        else:
            value = next((v for k, v in parse_qsl(query, keep_blank_values=True) if k == self._name), "")
        value = value.strip()
        scheme, _, rest = value.partition(" ")
        if scheme.lower() == "bearer":
            return rest.strip() or None
        return value or None

    def _verified_claims(self, token: str) -> dict[str, Any]:
        parts = token.split(".")
        if len(parts) != 3:
            raise _Invalid("the token is not a valid JWT")
        header, claims = _decode_json(parts[0]), _decode_json(parts[1])
        signature = _decode_part(parts[2])
        algorithm = header.get("alg")
        if algorithm not in _HASHES:
            raise _Invalid(f"the signing algorithm {str(algorithm)[:20]} is not supported")
        key = self._key(header.get("kid"))
        try:
            key.verify(signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), _HASHES[algorithm]())
        except InvalidSignature:
            raise _Invalid("the token's signature is invalid") from None
        self._check_claims(claims)
        return claims

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        if claims.get("iss") != self.issuer:
            raise _Invalid("the token does not have a valid issuer")
        if "aud" in claims:
            audience = claims["aud"]
            given = [audience] if isinstance(audience, str) else audience
            valid = isinstance(given, list) and any(isinstance(a, str) and a in self.audience for a in given)
        else:
            valid = claims.get("client_id") in self.audience
        if not valid:
            raise _Invalid("the token does not have a valid audience")
        now = self._clock()
        expires = _number(claims, "exp")
        if expires is None or expires <= now:
            raise _Invalid("the token has expired" if expires is not None else "the token has no expiry")
        not_before = _number(claims, "nbf")
        if not_before is not None and not_before > now:
            raise _Invalid("the token is not valid yet")
        issued = _number(claims, "iat")
        if issued is not None and issued > now:
            raise _Invalid("the token was issued in the future")

    def _key(self, kid: Any) -> rsa.RSAPublicKey:
        if not isinstance(kid, str) or not kid:
            raise _Invalid("the token does not name its signing key")
        jwk = self._find(kid, refresh=False) or self._find(kid, refresh=True)
        if jwk is None:
            raise _Invalid("the token was not signed by a key of the issuer")
        if jwk.get("kty") != "RSA":
            raise _Invalid("the issuer's key for the token is not an RSA key")
        return _rsa_key(jwk)

    def _find(self, kid: str, *, refresh: bool) -> Mapping[str, Any] | None:
        with self._lock:
            stale = self._clock() - self._fetched > KEYS_REFRESH_AFTER
            if self._jwks is None or (refresh and stale):
                try:
                    document = self._keys(self.issuer)
                except Exception:  # an unreachable issuer: no key, so no token passes
                    raise _Invalid("the issuer's keys could not be fetched") from None
                self._jwks, self._fetched = document, self._clock()
            keys = self._jwks.get("keys") if isinstance(self._jwks, Mapping) else None
        if not isinstance(keys, list):
            return None
        return next((k for k in keys if isinstance(k, Mapping) and k.get("kid") == kid), None)
