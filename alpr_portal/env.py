"""Small, strict readers for settings that come from the environment.

Each reader fails at start-up with a message naming the variable, so a
misconfigured deployment never runs with a silently wrong value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


class ConfigError(Exception):
    """A required setting is missing or malformed."""


def _raw(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    value = (environ if environ is not None else os.environ).get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str:
    value = _raw(name)
    if value is None:
        if required:
            raise ConfigError(f"{name} is required but not set.")
        if default is None:
            return ""
        return default
    return value


def env_bool(name: str, default: bool = False) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false (got {value!r}).")


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number (got {value!r}).") from None
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name} must be at least {minimum} (got {number}).")
    if maximum is not None and number > maximum:
        raise ConfigError(f"{name} must be at most {maximum} (got {number}).")
    return number


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default or [])
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise ConfigError(f"{name} must be a comma-separated list with at least one entry.")
    return items


def env_networks(name: str, default: list[str]) -> list[str]:
    """A comma-separated list of IP networks (``10.0.5.0/24``, ``::1/128``), checked now."""
    import ipaddress

    items = env_list(name, default)
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigError(
                f"{name}: {item!r} is not an IP network such as 10.0.5.0/24."
            ) from None
    return items


def env_url(
    name: str, default: str | None = None, *, schemes: tuple[str, ...], required: bool = False
) -> str:
    value = _raw(name)
    if value is None:
        if required or default is None:
            raise ConfigError(f"{name} is required but not set.")
        value = default
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in schemes:
        allowed = ", ".join(f"{s}://" for s in schemes)
        raise ConfigError(
            f"{name} must be a URL starting with {allowed} (got {value.split('@')[-1]!r})."
        )
    return value


def master_key(*, required: bool) -> bytes | None:
    """The 32-byte master key that wraps the agencies' data keys.

    Comes from ALPR_MASTER_KEY (base64 or 64 hex characters) or from the
    file named by ALPR_MASTER_KEY_FILE, never from the repository.
    """
    inline = _raw("ALPR_MASTER_KEY")
    path = _raw("ALPR_MASTER_KEY_FILE")
    if inline and path:
        raise ConfigError("Set only one of ALPR_MASTER_KEY and ALPR_MASTER_KEY_FILE, not both.")
    source = "ALPR_MASTER_KEY"
    if path:
        source = "ALPR_MASTER_KEY_FILE"
        try:
            inline = Path(path).read_text().strip()
        except OSError as exc:
            raise ConfigError(
                f"ALPR_MASTER_KEY_FILE cannot be read: {exc.strerror} ({path})."
            ) from None
    if not inline:
        if required:
            raise ConfigError(
                "ALPR_MASTER_KEY or ALPR_MASTER_KEY_FILE is required: 32 random bytes, "
                "base64-encoded (python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())')."
            )
        return None
    return parse_master_key(inline, source=source)


def old_master_keys() -> list[bytes]:
    """Previous master keys that may still be read during a rotation (never used to write).

    From ALPR_OLD_MASTER_KEY (one key) and/or ALPR_OLD_MASTER_KEY_FILE (one key per line).
    """
    keys: list[bytes] = []
    inline = _raw("ALPR_OLD_MASTER_KEY")
    if inline:
        keys.append(parse_master_key(inline, source="ALPR_OLD_MASTER_KEY"))
    path = _raw("ALPR_OLD_MASTER_KEY_FILE")
    if path:
        try:
            lines = Path(path).read_text().splitlines()
        except OSError as exc:
            raise ConfigError(
                f"ALPR_OLD_MASTER_KEY_FILE cannot be read: {exc.strerror} ({path})."
            ) from None
        keys.extend(
            parse_master_key(line, source="ALPR_OLD_MASTER_KEY_FILE")
            for line in lines
            if line.strip()
        )
    return keys


def parse_master_key(text: str, *, source: str = "ALPR_MASTER_KEY") -> bytes:
    # The keyring owns the key format; it imports no models, so settings may use it.
    from tenants.keyring.core import KeyringError, parse_key

    try:
        return parse_key(text, source=source)
    except KeyringError as exc:
        raise ConfigError(str(exc)) from None


def signing_key_file(name: str, *, required: bool) -> Path | None:
    """The file of an Ed25519 private key (PEM, PKCS#8), checked at start-up.

    The key never comes from the database or the repository; ``None`` when the variable is
    not set and not required.
    """
    path = _raw(name)
    if path is None:
        if required:
            raise ConfigError(
                f"{name} is required: the file of an Ed25519 private key (PEM) that signs the "
                f"access-log checkpoints. Create one with: openssl genpkey -algorithm ed25519 "
                f"-out /etc/alpr/audit-signing.pem"
            )
        return None
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{name} cannot be read: {exc.strerror} ({path}).") from None
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(
            f"{name} must name an unencrypted Ed25519 private key in PEM form ({path}); "
            f"create one with: openssl genpkey -algorithm ed25519 -out {path}"
        )
    return Path(path)


_RATE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(text: str, *, name: str) -> tuple[int, int] | None:
    """``"120/m"`` -> (120, 60): at most 120 in each window of 60 s; ``"off"`` -> None.

    The period is a unit (s, m, h, d) optionally preceded by a count: ``"500/5m"``.
    """
    text = text.strip().lower()
    if text in {"off", "none", "0"}:
        return None
    count, _, period = text.partition("/")
    number, unit = period[:-1], period[-1:]
    if (
        not count.isdigit()
        or int(count) < 1
        or unit not in _RATE_UNITS
        or (number and (not number.isdigit() or int(number) < 1))
    ):
        raise ConfigError(
            f"{name} must look like 120/m (a count per s, m, h or d, e.g. 500/5m) or off "
            f"(got {text!r})."
        )
    return int(count), int(number or 1) * _RATE_UNITS[unit]


def env_rate(name: str, default: str) -> tuple[int, int] | None:
    return parse_rate(_raw(name) or default, name=name)
