"""Law profiles: what a state's law lets an agency do with its captures when sharing them.

Each agency chooses its profile in its settings (``Agency.share_law_profile``); the profile is
published on its policy page and checked twice: when the agency offers a grant, and again at
every search of the shared data (a grant the profile no longer allows stops working and is
flagged for the agency's auditors).

The profiles below are a summary to configure the portal with, not legal advice: an agency's
counsel decides which one applies and whether its own policy must say more.

This module imports no model: ``tenants.models`` takes its choices from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

US_STATE_CODES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
    ]
)


class AgencyFacts(Protocol):
    """What the checks need to know about an agency (``tenants.models.Agency`` has it)."""

    name: str
    jurisdiction: str
    public_agency: bool


@dataclass(frozen=True)
class LawProfile:
    key: str
    name: str
    summary: str  # one paragraph for the policy page
    public_recipients_only: bool = False
    in_state_recipients_only: bool = False
    # Purposes the law forbids the data to be used for: refused, whatever either agency allows.
    forbidden_terms: tuple[str, ...] = ()
    # The owning agency itself must be in this state for the profile to make sense.
    state: str = ""

    def offer_problems(self, *, owner: AgencyFacts, recipient: AgencyFacts) -> list[str]:
        """Why this profile does not allow ``owner`` to share with ``recipient`` (empty: it does)."""
        problems: list[str] = []
        if self.state and owner.jurisdiction != self.state:
            problems.append(
                f"{owner.name} follows the {self.name} profile but is not recorded as an agency "
                f"in {self.state}: ask platform staff to correct its state, or choose its "
                "state's profile."
            )
        if self.public_recipients_only and not recipient.public_agency:
            problems.append(
                f"The {self.name} profile allows sharing with public agencies only, and "
                f"{recipient.name} is not recorded as one."
            )
        if self.in_state_recipients_only and recipient.jurisdiction != self.state:
            where = recipient.jurisdiction or "no recorded state"
            problems.append(
                f"The {self.name} profile allows sharing only with agencies in {self.state}; "
                f"{recipient.name} is in {where}."
            )
        return problems

    def forbidden_in(self, *texts: str) -> list[str]:
        """The forbidden purposes named (as whole words) in any of ``texts``."""
        haystack = " ".join(texts).lower()
        found = []
        for term in self.forbidden_terms:
            words = r"[\s-]+".join(re.escape(part) for part in term.split())
            if re.search(rf"(?<![a-z0-9]){words}(?![a-z0-9])", haystack):
                found.append(term)
        return found


DEFAULT = LawProfile(
    key="default",
    name="Permissive default",
    summary=(
        "No state-specific limit is configured: the agency may share with any agency on the "
        "portal that accepts its terms, under its own policy and prohibited purposes."
    ),
)
CALIFORNIA = LawProfile(
    key="california",
    name="California",
    state="CA",
    public_recipients_only=True,
    in_state_recipients_only=True,
    forbidden_terms=("immigration", "immigration enforcement", "abortion", "reproductive health"),
    summary=(
        "California law (Civil Code 1798.90.5 and following) lets a public agency share "
        "ALPR information only with other public agencies, and the state's guidance reads "
        "that as public agencies in California: out-of-state and federal recipients and private "
        "companies are refused. Shared data may not be used for civil immigration enforcement "
        "or to investigate lawful reproductive health care."
    ),
)
ILLINOIS = LawProfile(
    key="illinois",
    name="Illinois",
    state="IL",
    public_recipients_only=True,
    forbidden_terms=(
        "immigration",
        "immigration enforcement",
        "abortion",
        "reproductive health",
        "gender-affirming care",
    ),
    summary=(
        "Illinois law (625 ILCS 5/2-130) forbids sharing ALPR data to investigate or enforce "
        "immigration law or to investigate people for seeking or providing lawful reproductive "
        "health care; recipients must accept those limits in writing (the terms they accept "
        "here). Sharing is with public agencies only."
    ),
)
WASHINGTON = LawProfile(
    key="washington",
    name="Washington",
    state="WA",
    public_recipients_only=True,
    forbidden_terms=(
        "immigration",
        "immigration enforcement",
        "abortion",
        "reproductive health",
        "gender-affirming care",
    ),
    summary=(
        "Washington law (the Keep Washington Working Act, RCW 10.93.160, and the Shield Law, "
        "RCW 7.115) forbids giving information for civil immigration enforcement and for "
        "investigating protected reproductive or gender-affirming health care. Sharing is "
        "with public agencies only."
    ),
)

PROFILES: dict[str, LawProfile] = {
    profile.key: profile for profile in (DEFAULT, CALIFORNIA, ILLINOIS, WASHINGTON)
}
PROFILE_CHOICES = [(profile.key, profile.name) for profile in PROFILES.values()]


def profile_of(agency: object) -> LawProfile:
    """The agency's profile; an unknown key (a profile since removed) allows nothing."""
    key = str(getattr(agency, "share_law_profile", "") or "default")
    return PROFILES.get(key) or LawProfile(
        key=key,
        name=f"unknown profile {key!r}",
        summary="This profile is not known to the portal: nothing is shared under it.",
        public_recipients_only=True,
        in_state_recipients_only=True,
        state="--",
    )
