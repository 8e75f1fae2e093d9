from __future__ import annotations

import pytest

from tenants.models import Agency
from tests.factories import make_platform_staff
from tests.support import enrolled_secret


@pytest.fixture
def platform(db) -> Agency:
    return Agency.objects.get(schema_name="public")


@pytest.fixture
def staff(platform):
    """A platform staff member with an enrolled authenticator (``staff.secret``)."""
    user = make_platform_staff()
    user.secret = enrolled_secret(platform, user)
    return user
