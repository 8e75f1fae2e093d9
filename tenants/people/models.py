"""People of an agency beyond Django's user: training, second-factor devices, sign-in lockouts."""

from __future__ import annotations

import enum
import logging
import os
import time
from base64 import b32encode
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import models
from django_otp.models import Device, TimestampMixin
from django_otp.oath import TOTP

from tenants.people.crypto import SecretUnreadable, open_totp_secret, seal_totp_secret

logger = logging.getLogger(__name__)

LOCKOUT_THRESHOLD = 5


class TrainingRecord(models.Model):
    class Kind(models.TextChoices):
        INITIAL = "initial", "Initial training"
        REFRESHER = "refresher", "Annual refresher"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_records"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    completed_on = models.DateField()
    trainer = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-completed_on", "-id"]
        indexes = [models.Index(fields=["user", "-completed_on"], name="training_user_latest")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.completed_on:%Y-%m-%d} ({self.trainer})"


class TokenCheck(enum.Enum):
    VALID = "valid"
    REPLAYED = "replayed"  # right code, but already used (or older than the last one used)
    WRONG = "wrong"  # not a current code of this device


class EncryptedTOTPDevice(TimestampMixin, Device):
    """A TOTP authenticator whose secret is stored sealed (AES-GCM), never as plain hex.

    Same algorithm and defaults as django-otp's TOTPDevice (SHA-1, 30 s, 6 digits, one step
    of tolerance); a code is accepted once: ``last_t`` only moves forward.
    """

    sealed_key = models.TextField(editable=False)
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = "authenticator app"

    def set_new_secret(self) -> None:
        """Give the device a fresh random 20-byte secret (the user must be set first)."""
        self.sealed_key = seal_totp_secret(os.urandom(20), user_id=self.user_id)

    @property
    def bin_key(self) -> bytes:
        """The secret; raises SecretUnreadable when it does not open in this schema and row."""
        return open_totp_secret(self.sealed_key, user_id=self.user_id)

    @property
    def secret_base32(self) -> str:
        return b32encode(self.bin_key).decode()

    @property
    def config_url(self) -> str:
        issuer = str(getattr(settings, "OTP_TOTP_ISSUER", "") or "ALPR Portal").replace(":", "")
        label = f"{issuer}:{self.user.get_username()}"
        params = urlencode(
            {
                "secret": self.secret_base32,
                "algorithm": "SHA1",
                "digits": self.digits,
                "period": self.step,
            }
        )
        return f"otpauth://totp/{quote(label)}?{params}&issuer={quote(issuer)}"

    def check_token(self, token: str) -> TokenCheck:
        """Check ``token`` and, when valid, consume it (saved). Replays are told apart."""
        token = (token or "").replace(" ", "").strip()
        if len(token) != self.digits or not token.isdigit():
            return TokenCheck.WRONG
        try:
            key = self.bin_key
        except SecretUnreadable as exc:
            # A server-side key problem, not the person's: refuse the code (never a 500) and
            # tell the operators; backup codes still work.
            logger.error("TOTP secret of device %s does not open: %s", self.pk, exc)
            return TokenCheck.WRONG
        totp = TOTP(key, self.step, self.t0, self.digits, self.drift)
        totp.time = time.time()
        base_drift = self.drift
        for offset in range(-self.tolerance, self.tolerance + 1):
            totp.drift = base_drift + offset
            if totp.token() != int(token):
                continue
            if totp.t() <= self.last_t:
                return TokenCheck.REPLAYED
            self.last_t = totp.t()
            self.drift = totp.drift
            self.set_last_used_timestamp(commit=False)
            self.save(update_fields=["last_t", "drift", "last_used_at"])
            return TokenCheck.VALID
        return TokenCheck.WRONG

    def verify_token(self, token) -> bool:
        return self.check_token(str(token)) is TokenCheck.VALID


class LoginLock(models.Model):
    """Consecutive failed sign-ins of one username (password or code); locked at the threshold.

    Keyed by the username that was typed, so it also counts attempts on unknown names,
    and a locked account stays locked until an administrator unlocks it.
    """

    username = models.CharField(max_length=150, unique=True)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-locked_at", "username"]
        verbose_name = "sign-in lockout"

    def __str__(self) -> str:
        state = "locked" if self.locked_at else f"{self.failures} failed attempt(s)"
        return f"{self.username} ({state})"

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None
