"""JWTs made by tests: signed with the local user pools' own key, with a key of nobody, or tampered.

moto signs the tokens of every user pool with one RSA key (``jwks-private.json``, kid ``dummy``);
signing with it makes a token the local endpoint could have issued (an expired one, say).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _integer(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def _bytes(number: int) -> str:
    return b64url(number.to_bytes((number.bit_length() + 7) // 8, "big"))


@dataclass(frozen=True)
class SigningKey:
    private: rsa.RSAPrivateKey
    kid: str

    def public_jwk(self) -> dict[str, str]:
        numbers = self.private.public_key().public_numbers()
        return {
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "use": "sig",
            "n": _bytes(numbers.n),
            "e": _bytes(numbers.e),
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk()]}

    def sign(
        self, claims: Mapping[str, Any], *, alg: str = "RS256", header: Mapping[str, Any] | None = None
    ) -> str:
        return self.sign_raw(json.dumps(dict(claims)).encode(), alg=alg, header=header)

    def sign_raw(self, payload: bytes, *, alg: str = "RS256", header: Mapping[str, Any] | None = None) -> str:
        """A token over ``payload`` as given (JSON ``json.dumps`` would not write, e.g. deeply nested)."""
        head = {"alg": alg, "kid": self.kid, "typ": "JWT", **(header or {})}
        signing_input = f"{b64url(json.dumps(head).encode())}.{b64url(payload)}"
        digest = {"RS256": hashes.SHA256(), "RS384": hashes.SHA384(), "RS512": hashes.SHA512()}[alg]
        signature = self.private.sign(signing_input.encode(), padding.PKCS1v15(), digest)
        return f"{signing_input}.{b64url(signature)}"


def generate(kid: str = "test-key") -> SigningKey:
    return SigningKey(rsa.generate_private_key(public_exponent=65537, key_size=2048), kid)


def pool_key() -> SigningKey:
    """The key moto signs every user pool's tokens with."""
    from moto.utilities.utils import load_resource  # noqa: PLC0415

    jwk = load_resource("cognitoidp/resources/jwks-private.json")
    n, e, d = _integer(jwk["n"]), _integer(jwk["e"]), _integer(jwk["d"])
    p, q = rsa.rsa_recover_prime_factors(n, e, d)
    numbers = rsa.RSAPrivateNumbers(
        p,
        q,
        d,
        rsa.rsa_crt_dmp1(d, p),
        rsa.rsa_crt_dmq1(d, q),
        rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(e, n),
    )
    return SigningKey(numbers.private_key(), jwk["kid"])


def claims_of(token: str) -> dict[str, Any]:
    """A token's payload, unverified."""
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


def tampered(token: str, **changes: Any) -> str:
    """The token with its payload changed and its signature kept."""
    head, _, signature = token.split(".")
    payload = b64url(json.dumps({**claims_of(token), **changes}).encode())
    return f"{head}.{payload}.{signature}"


def access_claims(
    issuer: str, client_id: str, sub: str, *, lifetime: int = 3600, **extra: Any
) -> dict[str, Any]:
    """The claims of a Cognito access token (as moto issues them), valid from now for ``lifetime``."""
    now = int(time.time())
    return {
        "iss": issuer,
        "sub": sub,
        "client_id": client_id,
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": now,
        "iat": now,
        "exp": now + lifetime,
        "jti": "test-jti",
        "username": "someone",
        **extra,
    }
