"""What a plate search asks for: the plate pattern and the query, as values (no database).

A plate pattern is exact unless it holds ``*`` (any run of characters) or ``?`` (exactly
one character). Everything else the searcher types is literal: ``%``, ``_`` and ``\\`` are
escaped before they reach SQL's ``LIKE``. Spaces, dashes and dots are plate separators and
are dropped; letters are upper-cased.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import operator
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from django.db.models import CharField, F, Lookup, Q, Value

from captures.reading.matching import match_key, misread_texts

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler, _AsSqlType

MIN_KNOWN_CHARACTERS = 2
MAX_PATTERN_LENGTH = 20

# Two-letter codes of the 50 states and DC: the search form's choices and what a reviewer's
# correction may name.
US_STATES = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
    "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
    "VT", "VA", "WA", "WV", "WI", "WY",
]  # fmt: skip


class PatternError(ValueError):
    """The plate pattern cannot be searched; the message says what to change."""


@dataclass(frozen=True)
class PlatePattern:
    text: str  # as normalised: literal characters plus * and ?
    known: int  # how many literal characters it names

    @property
    def is_exact(self) -> bool:
        return "*" not in self.text and "?" not in self.text


def normalize_pattern(raw: str) -> str:
    text = re.sub(r"[\s\-.·]+", "", (raw or "").upper())
    return re.sub(r"\*+", "*", text)


def parse_plate_pattern(raw: str) -> PlatePattern | None:
    """``None`` for an empty field; raises :class:`PatternError` for an unusable pattern."""
    text = normalize_pattern(raw)
    if not text:
        return None
    if len(text) > MAX_PATTERN_LENGTH:
        raise PatternError(f"A plate has at most {MAX_PATTERN_LENGTH} characters.")
    known = sum(1 for ch in text if ch not in "*?")
    if known < MIN_KNOWN_CHARACTERS:
        raise PatternError(
            f"Give at least {MIN_KNOWN_CHARACTERS} known characters of the plate "
            "(for example 7AB* or ?XY12?)."
        )
    return PlatePattern(text=text, known=known)


def like_pattern(pattern: str, *, fold: Callable[[str], str] | None = None) -> str:
    """The SQL LIKE pattern (escape character backslash) for a plate pattern.

    ``fold`` (e.g. :func:`match_key`) is applied to each run of literal characters.
    """
    out: list[str] = []
    for piece in re.split(r"([*?])", pattern):
        if piece == "*":
            out.append("%")
        elif piece == "?":
            out.append("_")
        elif piece:
            literal = fold(piece) if fold else piece
            out.append(literal.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"))
    return "".join(out)


class Like(Lookup):
    """``lhs LIKE rhs`` (case-sensitive; plates are stored upper-case), served by pg_trgm."""

    lookup_name = "like"

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> _AsSqlType:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} LIKE {rhs}", (*lhs_params, *rhs_params)


def plate_filter(column: str, pattern: PlatePattern, *, similar: bool) -> Q | Like:
    """The condition on ``column`` (``plate``, or ``match_key`` for similar plates).

    Similar plates are the pattern's match key, and the keys of what a reader may read the
    plate as beyond the folded groups (its 4s as Ls: ``misread_texts``)."""
    if not similar:
        if pattern.is_exact:
            return Q(**{column: pattern.text})
        return Like(F(column), Value(like_pattern(pattern.text), output_field=CharField()))
    texts = [pattern.text, *misread_texts(pattern.text)]
    if pattern.is_exact:
        return Q(**{f"{column}__in": sorted({match_key(t) for t in texts})})
    likes = sorted({like_pattern(t, fold=match_key) for t in texts})
    conditions = [Like(F(column), Value(like, output_field=CharField())) for like in likes]
    return functools.reduce(operator.or_, conditions)


def _logged_time(value: Any) -> datetime.datetime | None:
    try:
        moment = datetime.datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment


def _logged_camera_ids(query: dict[str, Any]) -> Iterator[int]:
    for camera in query.get("cameras") or ():
        with contextlib.suppress(TypeError, ValueError):
            yield int(camera)


@dataclass(frozen=True)
class SearchQuery:
    plate: str = ""
    similar: bool = False
    state: str = ""
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None
    camera_ids: Sequence[int] = field(default_factory=tuple)
    include_unconfirmed: bool = True

    def as_log(self) -> dict[str, Any]:
        """Every query element, in the shape the access log (and its auditors) expect."""
        return {
            "plate": self.plate,
            "state": self.state,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "cameras": sorted(self.camera_ids),
            "include_unconfirmed": self.include_unconfirmed,
            "similar": self.similar,
        }

    def capped(self, *, at: datetime.datetime) -> tuple[SearchQuery, bool]:
        """The query with its range ending no later than ``at``; True when the end moved.

        A range that ends in the future would, when the search is shown again, take in
        reads that arrived after it was run: a search covers only what existed when it ran.
        """
        if self.end is not None and self.end <= at:
            return self, False
        return replace(self, end=at), True

    @classmethod
    def from_log(cls, query: dict[str, Any]) -> SearchQuery:
        return cls(
            plate=query.get("plate") or "",
            similar=bool(query.get("similar")),
            state=query.get("state") or "",
            start=_logged_time(query.get("from")),
            end=_logged_time(query.get("to")),
            camera_ids=tuple(_logged_camera_ids(query)),
            include_unconfirmed=bool(query.get("include_unconfirmed", True)),
        )
