"""Small, strict readers for settings that come from the environment.

Each reader fails at start-up with a message naming the variable, so a
misconfigured deployment never runs with a silently wrong value.
"""

from __future__ import annotations

import base64
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


def parse_master_key(text: str, *, source: str = "ALPR_MASTER_KEY") -> bytes:
    text = text.strip()
    key: bytes | None = None
    if len(text) == 64:
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = None
    if key is None:
        try:
            key = base64.b64decode(text, validate=True)
        except (ValueError, base64.binascii.Error):
            key = None
    if key is None or len(key) != 32:
        raise ConfigError(f"{source} must be 32 bytes, base64-encoded or as 64 hex characters.")
    return key


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
