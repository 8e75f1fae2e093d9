"""What a support session may reach, by URL name: one list per grant scope.

Everything not listed is refused (403) in a support session, whatever the account's roles say;
public pages (``public_view``: policy, transparency, sign-in) stay public. Names, not modules:
this floor (``tenants``) knows the agency's pages by their URL names only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tenants.support.models import Scope

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALL_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST"})


@dataclass(frozen=True)
class Allowed:
    """URL names (exact, or a prefix ending in ``_``/``:``) and the methods allowed on them."""

    names: frozenset[str]
    prefixes: tuple[str, ...]
    methods: frozenset[str]

    def covers(self, name: str, method: str) -> bool:
        if method not in self.methods:
            return False
        return name in self.names or any(name.startswith(p) for p in self.prefixes)


_EVERY_SESSION = Allowed(
    names=frozenset({"home", "logout", "support:session"}),
    prefixes=(),
    methods=ALL_METHODS,
)

SCOPE_RULES: dict[str, tuple[Allowed, ...]] = {
    # The agency settings page and the cameras (their keys, failed camera sign-ins) in the admin.
    Scope.SETTINGS: (
        Allowed(
            names=frozenset({"admin:index", "admin:jsi18n", "admin:logout"}),
            prefixes=(
                "admin:tenants_agencysettings_",
                "admin:captures_camera_",
                "admin:captures_cameraauthfailure_",
            ),
            methods=ALL_METHODS,
        ),
    ),
    # Reading data: searches (with a purpose, logged, like anyone's), capture pages and images.
    # Nothing that changes or releases a read (review, print) and no admin page.
    Scope.READ_ONLY: (
        Allowed(names=frozenset({"captures:search"}), prefixes=(), methods=ALL_METHODS),
        Allowed(
            names=frozenset({"captures:capture", "captures:capture-image"}),
            prefixes=(),
            methods=SAFE_METHODS,
        ),
    ),
}

# Admin models a settings-scope session sees on the admin index (app label, model name).
SETTINGS_ADMIN_MODELS = frozenset(
    {("tenants", "agencysettings"), ("captures", "camera"), ("captures", "cameraauthfailure")}
)


def scope_allows(scope: str, view_name: str, method: str) -> bool:
    """Whether a support session of ``scope`` may call the URL named ``view_name``."""
    if _EVERY_SESSION.covers(view_name, method):
        return True
    return any(rule.covers(view_name, method) for rule in SCOPE_RULES.get(scope, ()))


def view_is_public(view: Callable[..., object]) -> bool:
    return bool(getattr(view, "alpr_public", False))
