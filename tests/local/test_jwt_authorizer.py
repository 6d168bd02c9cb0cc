"""The JWT authorizer emulation on its own: each check refuses what it must, with API Gateway's answer."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from local.aws.authorizers import Granted, JwtAuthorizer, Refused, claim_text
from tests.support.tokens import SigningKey, b64url, generate, tampered

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Pool"
CLIENT = "client-1"
NOW = 1_800_000_000.0
KEY = generate("key-1")
UNAUTHORIZED = b'{"message":"Unauthorized"}'


def claims(**changes: Any) -> dict[str, Any]:
    base = {
        "iss": ISSUER,
        "sub": "sub-1",
        "client_id": CLIENT,
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": int(NOW) - 10,
        "iat": int(NOW) - 10,
        "exp": int(NOW) + 3600,
        "username": "alice",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


class Keys:
    """A JWKS source that counts its fetches and can be made to fail."""

    def __init__(self, *keys: SigningKey) -> None:
        self.document: Any = {"keys": [k.public_jwk() for k in keys]}
        self.fetches: list[str] = []
        self.failing = False

    def __call__(self, issuer: str) -> Mapping[str, Any]:
        self.fetches.append(issuer)
        if self.failing:
            raise OSError("connection refused")
        return self.document  # type: ignore[no-any-return]


def authorizer(keys: Keys | None = None, clock: Callable[[], float] = lambda: NOW) -> JwtAuthorizer:
    return JwtAuthorizer(ISSUER, [CLIENT, "client-2"], keys or Keys(KEY), clock=clock)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refusal(outcome: Granted | Refused) -> str:
    """The ``error_description`` of a 401, after checking the rest of API Gateway's answer."""
    assert isinstance(outcome, Refused), outcome
    response = outcome.response
    assert (response.status, response.body) == (401, UNAUTHORIZED)
    assert response.headers["Content-Type"] == "application/json"
    challenge = response.headers["www-authenticate"]
    prefix = 'Bearer scope="" error="invalid_token" error_description="'
    assert challenge.startswith(prefix), challenge
    assert challenge.endswith('"')
    return challenge[len(prefix) : -1]


def test_a_valid_token_is_granted_with_its_claims_as_payload_2_0_shows_them() -> None:
    token = KEY.sign(claims(**{"cognito:groups": ["admin", "editors"], "email_verified": True}))
    outcome = authorizer().authorize(bearer(token))
    assert isinstance(outcome, Granted)
    assert outcome.claims == {
        "iss": ISSUER,
        "sub": "sub-1",
        "client_id": CLIENT,
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": str(int(NOW) - 10),
        "iat": str(int(NOW) - 10),
        "exp": str(int(NOW) + 3600),
        "username": "alice",
        "cognito:groups": "[admin editors]",
        "email_verified": "true",
    }
    assert outcome.context() == {"jwt": {"claims": outcome.claims, "scopes": None}}


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("a", "a"),
        (7, "7"),
        (7.0, "7"),
        (1.5, "1.5"),
        (False, "false"),
        (["x"], "[x]"),
        ([], "[]"),
        ({"k": 1}, '{"k":1}'),
    ],
)
def test_claim_values_become_strings(value: Any, shown: str) -> None:
    assert claim_text(value) == shown


@pytest.mark.parametrize("header", ["Authorization", "authorization", "AUTHORIZATION"])
@pytest.mark.parametrize("prefix", ["Bearer ", "bearer ", ""])
def test_the_token_is_read_alone_or_after_bearer_from_the_identity_source(header: str, prefix: str) -> None:
    token = KEY.sign(claims())
    assert isinstance(authorizer().authorize({header: prefix + token}), Granted)


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": ""}, {"Authorization": "Bearer "}, {"X-Token": "abc"}]
)
def test_no_token_is_a_401_with_a_bare_bearer_challenge(headers: dict[str, str]) -> None:
    outcome = authorizer().authorize(headers)
    assert isinstance(outcome, Refused)
    assert (outcome.response.status, outcome.response.body) == (401, UNAUTHORIZED)
    assert outcome.response.headers["www-authenticate"] == "Bearer"


def test_a_query_string_identity_source_reads_the_query() -> None:
    by_query = JwtAuthorizer(ISSUER, [CLIENT], Keys(KEY), "$request.querystring.token", clock=lambda: NOW)
    token = KEY.sign(claims())
    assert isinstance(by_query.authorize({}, f"token={token}"), Granted)
    assert isinstance(by_query.authorize(bearer(token)), Refused)


def test_identity_sources_it_cannot_read_are_refused_at_start() -> None:
    with pytest.raises(ValueError, match="unsupported identity source"):
        JwtAuthorizer(ISSUER, [CLIENT], Keys(KEY), "$context.identity.sourceIp")


def _raw(header: Any, payload: Any, signature: bytes = b"sig") -> str:
    encode = lambda part: b64url(part if isinstance(part, bytes) else json.dumps(part).encode())  # noqa: E731
    return f"{encode(header)}.{encode(payload)}.{b64url(signature)}"


@pytest.mark.parametrize(
    "token",
    [
        "abc",
        "a.b",
        "a.b.c.d",
        "e30.e30.!!!",
        "@@@.e30.e30",
        _raw(b"not json", claims()),
        _raw([1, 2], claims()),
        _raw({"alg": "RS256", "kid": "key-1"}, b"\xff\xfe"),
        _raw({"alg": "RS256", "kid": "key-1"}, "a string"),
    ],
)
def test_a_token_that_does_not_decode_is_refused(token: str) -> None:
    assert refusal(authorizer().authorize(bearer(token))) == "the token is not a valid JWT"


#: JSON nested deeper than Python's ``json`` decodes: ``RecursionError``, not a ``ValueError``.
DEEP = b"[" * 20_000 + b"]" * 20_000


@pytest.mark.parametrize(
    "token",
    [_raw(DEEP, claims()), _raw({"alg": "RS256", "kid": "key-1"}, DEEP)],
    ids=["deep-header", "deep-payload"],
)
def test_a_token_nested_too_deep_to_decode_is_a_401_not_a_crash(token: str) -> None:
    """53 KB, under the server's 64 KB header line: on ``make run`` (no token of anyone needed) the
    authorizer raised ``RecursionError``, the request thread died with a traceback on stderr and
    the client got no answer at all (``RemoteDisconnected``) instead of API Gateway's 401."""
    assert len(token) < 65_536
    assert refusal(authorizer().authorize(bearer(token))) == "the token is not a valid JWT"


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_a_time_too_large_for_a_float_is_refused_not_a_crash(claim: str) -> None:
    """``float(10**400)`` raises ``OverflowError``; on ``make run`` a token signed with moto's published
    key and ``exp`` 10**400 got no answer (the connection dropped) instead of a 401."""
    token = KEY.sign(claims(**{claim: 10**400}))
    assert refusal(authorizer().authorize(bearer(token)))  # a 401 (fails closed), whichever reason


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")], ids=["inf", "-inf", "nan"])
def test_a_time_that_is_no_finite_number_is_refused(claim: str, value: float) -> None:
    """JSON's ``1e400`` decodes to ``inf`` (and Python reads ``Infinity``/``NaN``): an ``exp`` of ``inf``
    or ``NaN`` compared as "not expired" and such a token signed with moto's published key was granted."""
    token = KEY.sign(claims(**{claim: value}))
    assert refusal(authorizer().authorize(bearer(token))) == f"the token has an invalid {claim} claim"


def test_a_signed_token_with_a_claim_nested_too_deep_to_show_is_a_401_not_a_crash() -> None:
    """A list nested 900 levels deep decodes, and turning it into payload 2.0's claim text
    (``[a [b]]``) raised ``RecursionError``: the request got no answer, for anyone signing with
    moto's published key."""
    nested = b"[" * 900 + b"]" * 900
    payload = json.dumps(claims()).encode()[:-1] + b', "deep": ' + nested + b"}"
    outcome = authorizer().authorize(bearer(KEY.sign_raw(payload)))
    assert refusal(outcome) == "the token's claims are nested too deeply"


def test_an_integer_claim_too_large_for_a_float_is_shown_in_decimal() -> None:
    """``claim_text`` went through ``float()`` for every number: ``OverflowError`` on 10**400."""
    outcome = authorizer().authorize(bearer(KEY.sign(claims(big=10**400))))
    assert isinstance(outcome, Granted)
    assert outcome.claims["big"] == "1" + "0" * 400


@pytest.mark.parametrize("alg", ["none", "HS256", "ES256", "PS256", None, 7])
def test_only_rsa_signatures_are_accepted(alg: Any) -> None:
    token = _raw({"alg": alg, "kid": "key-1"}, claims(), b"")
    assert refusal(authorizer().authorize(bearer(token))).startswith("the signing algorithm")


def test_an_hmac_signature_made_with_the_public_key_is_refused() -> None:
    import hashlib  # noqa: PLC0415
    import hmac  # noqa: PLC0415

    head = b64url(json.dumps({"alg": "HS256", "kid": "key-1"}).encode())
    body = b64url(json.dumps(claims()).encode())
    secret = json.dumps(KEY.public_jwk()).encode()
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    refused = refusal(authorizer().authorize(bearer(f"{head}.{body}.{b64url(signature)}")))
    assert refused == "the signing algorithm HS256 is not supported"


@pytest.mark.parametrize("alg", ["RS384", "RS512"])
def test_other_rsa_hashes_verify(alg: str) -> None:
    assert isinstance(authorizer().authorize(bearer(KEY.sign(claims(), alg=alg))), Granted)


@pytest.mark.parametrize(
    ("kid", "description"),
    [
        (None, "the token does not name its signing key"),
        ("", "the token does not name its signing key"),
        (7, "the token does not name its signing key"),
        ("key-9", "the token was not signed by a key of the issuer"),
    ],
)
def test_the_kid_must_name_a_key_of_the_issuer(kid: Any, description: str) -> None:
    token = KEY.sign(claims(), header={"kid": kid})
    assert refusal(authorizer().authorize(bearer(token))) == description


def test_a_key_of_another_kind_is_refused() -> None:
    keys = Keys()
    keys.document = {"keys": [{**KEY.public_jwk(), "kty": "EC"}]}
    assert refusal(authorizer(keys).authorize(bearer(KEY.sign(claims())))) == (
        "the issuer's key for the token is not an RSA key"
    )


def test_a_signature_by_another_key_under_the_same_kid_is_refused() -> None:
    impostor = generate("key-1")
    assert (
        refusal(authorizer().authorize(bearer(impostor.sign(claims())))) == "the token's signature is invalid"
    )


def test_a_tampered_payload_is_refused() -> None:
    token = tampered(KEY.sign(claims()), **{"cognito:groups": ["admin"]})
    assert refusal(authorizer().authorize(bearer(token))) == "the token's signature is invalid"


def test_a_truncated_signature_is_refused() -> None:
    token = KEY.sign(claims())
    assert (
        refusal(authorizer().authorize(bearer(token[: token.rindex(".") + 1])))
        == "the token's signature is invalid"
    )


@pytest.mark.parametrize(
    "issuer", ["https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other", ISSUER + "/", None, 7]
)
def test_the_issuer_must_be_the_configured_one(issuer: Any) -> None:
    token = KEY.sign({**claims(), "iss": issuer})
    assert refusal(authorizer().authorize(bearer(token))) == "the token does not have a valid issuer"


@pytest.mark.parametrize(
    ("audience", "granted"),
    [
        ({"aud": CLIENT, "client_id": None}, True),
        ({"aud": [CLIENT, "x"], "client_id": None}, True),
        ({"aud": "client-2"}, True),
        ({"client_id": "client-2"}, True),
        # aud is evaluated first: when present, client_id is not looked at
        ({"aud": "someone-else", "client_id": CLIENT}, False),
        ({"aud": [], "client_id": CLIENT}, False),
        ({"aud": 7, "client_id": CLIENT}, False),
        ({"client_id": "someone-else"}, False),
        ({"client_id": None}, False),
        ({"client_id": [CLIENT]}, False),
    ],
)
def test_aud_first_and_client_id_only_without_aud(audience: dict[str, Any], granted: bool) -> None:
    outcome = authorizer().authorize(bearer(KEY.sign(claims(**audience))))
    if granted:
        assert isinstance(outcome, Granted)
    else:
        assert refusal(outcome) == "the token does not have a valid audience"


@pytest.mark.parametrize(
    ("times", "description"),
    [
        ({"exp": int(NOW) - 1}, "the token has expired"),
        ({"exp": int(NOW)}, "the token has expired"),
        ({"exp": None}, "the token has no expiry"),
        ({"exp": "1900000000"}, "the token has an invalid exp claim"),
        ({"exp": True}, "the token has an invalid exp claim"),
        ({"nbf": int(NOW) + 60}, "the token is not valid yet"),
        ({"nbf": "soon"}, "the token has an invalid nbf claim"),
        ({"iat": int(NOW) + 60}, "the token was issued in the future"),
        ({"iat": [1]}, "the token has an invalid iat claim"),
    ],
)
def test_times_are_checked_against_the_clock(times: dict[str, Any], description: str) -> None:
    assert refusal(authorizer().authorize(bearer(KEY.sign(claims(**times))))) == description


def test_a_token_in_its_lifetime_passes_and_fails_a_second_after_it() -> None:
    token = KEY.sign(claims(exp=int(NOW) + 1, nbf=int(NOW), iat=int(NOW)))
    assert isinstance(authorizer(clock=lambda: NOW).authorize(bearer(token)), Granted)
    assert refusal(authorizer(clock=lambda: NOW + 1).authorize(bearer(token))) == "the token has expired"


def test_a_route_with_scopes_needs_one_of_them_and_shows_the_tokens_scopes() -> None:
    token = KEY.sign(claims(scope="shop/read shop/write"))
    outcome = authorizer().authorize(bearer(token), scopes=["shop/write", "shop/admin"])
    assert isinstance(outcome, Granted)
    assert outcome.scopes == ["shop/read", "shop/write"]
    by_scp = KEY.sign(claims(scope=None, scp=["shop/admin"]))
    assert isinstance(authorizer().authorize(bearer(by_scp), scopes=["shop/admin"]), Granted)


@pytest.mark.parametrize(
    "held", [{"scope": "shop/read"}, {"scope": None}, {"scope": 7}, {"scope": None, "scp": [1]}]
)
def test_a_valid_token_without_the_routes_scope_is_a_403(held: dict[str, Any]) -> None:
    outcome = authorizer().authorize(bearer(KEY.sign(claims(**held))), scopes=["shop/write"])
    assert isinstance(outcome, Refused)
    response = outcome.response
    assert (response.status, response.body) == (403, b'{"message":"Forbidden"}')
    assert response.headers["www-authenticate"].startswith(
        'Bearer scope="shop/write" error="insufficient_scope"'
    )


def test_an_invalid_token_on_a_route_with_scopes_is_still_a_401() -> None:
    outcome = authorizer().authorize(bearer(generate("key-1").sign(claims())), scopes=["shop/write"])
    assert refusal(outcome) == "the token's signature is invalid"


def test_unreachable_or_broken_keys_refuse_every_token() -> None:
    keys = Keys(KEY)
    keys.failing = True
    assert (
        refusal(authorizer(keys).authorize(bearer(KEY.sign(claims()))))
        == "the issuer's keys could not be fetched"
    )
    for document in ({}, {"keys": "x"}, [], {"keys": [{"kid": "key-1", "kty": "RSA", "n": 7, "e": "AQAB"}]}):
        keys = Keys()
        keys.document = document
        assert isinstance(authorizer(keys).authorize(bearer(KEY.sign(claims()))), Refused), document


def test_keys_are_fetched_from_the_configured_issuer_once_and_again_for_a_new_kid_later() -> None:
    now = [NOW]
    keys = Keys(KEY)
    guard = authorizer(keys, clock=lambda: now[0])
    for _ in range(3):
        assert isinstance(guard.authorize(bearer(KEY.sign(claims()))), Granted)
    assert keys.fetches == [ISSUER]  # the token's own iss is never where keys come from

    rotated = generate("key-2")
    keys.document = {"keys": [KEY.public_jwk(), rotated.public_jwk()]}
    assert isinstance(guard.authorize(bearer(rotated.sign(claims()))), Refused)  # cached keys: not yet
    now[0] += 61
    assert isinstance(guard.authorize(bearer(rotated.sign(claims(exp=int(now[0]) + 60)))), Granted)
    assert keys.fetches == [ISSUER, ISSUER]
