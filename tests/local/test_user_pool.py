"""The template's user pool on the local endpoint behaves as its properties say, for a stranger too."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def test_nobody_signs_up_when_only_admins_may_create_users(stack: Any) -> None:
    """``AdminCreateUserConfig: {AllowAdminCreateUserOnly: true}`` in template.yaml: in AWS, ``SignUp``
    through the app client fails with ``NotAuthorizedException`` ("SignUp is not permitted for this
    user pool"). moto ignores the setting: on ``make run`` anyone holding the app client id (printed
    in the ready message, and public in any browser client) signed up ``mallory``, confirmed her with
    any code (``ConfirmSignUp``, code 123456), signed in and created a cart (201) with her token."""
    directory = stack.users()
    assert directory is not None
    pool = directory.client.describe_user_pool(UserPoolId=directory.pool_id)["UserPool"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True

    with pytest.raises(ClientError) as refused:
        directory.client.sign_up(
            ClientId=directory.client_id,
            Username="mallory",
            Password="Shop-Demo-2026x!",
            UserAttributes=[{"Name": "email", "Value": "mallory@example.com"}],
        )
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"
