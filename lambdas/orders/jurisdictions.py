"""US jurisdictions (50 states, DC, PR, GU, VI): any case, by USPS code or by full name."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Jurisdiction:
    code: str
    name: str


JURISDICTIONS: tuple[Jurisdiction, ...] = tuple(
    Jurisdiction(code, name)
    for code, name in (
        ("AL", "Alabama"), ("AK", "Alaska"), ("AZ", "Arizona"), ("AR", "Arkansas"),
        ("CA", "California"), ("CO", "Colorado"), ("CT", "Connecticut"), ("DE", "Delaware"),
        ("FL", "Florida"), ("GA", "Georgia"), ("HI", "Hawaii"), ("ID", "Idaho"),
        ("IL", "Illinois"), ("IN", "Indiana"), ("IA", "Iowa"), ("KS", "Kansas"),
        ("KY", "Kentucky"), ("LA", "Louisiana"), ("ME", "Maine"), ("MD", "Maryland"),
        ("MA", "Massachusetts"), ("MI", "Michigan"), ("MN", "Minnesota"), ("MS", "Mississippi"),
        ("MO", "Missouri"), ("MT", "Montana"), ("NE", "Nebraska"), ("NV", "Nevada"),
        ("NH", "New Hampshire"), ("NJ", "New Jersey"), ("NM", "New Mexico"), ("NY", "New York"),
        ("NC", "North Carolina"), ("ND", "North Dakota"), ("OH", "Ohio"), ("OK", "Oklahoma"),
        ("OR", "Oregon"), ("PA", "Pennsylvania"), ("RI", "Rhode Island"),
        ("SC", "South Carolina"), ("SD", "South Dakota"), ("TN", "Tennessee"), ("TX", "Texas"),
        ("UT", "Utah"), ("VT", "Vermont"), ("VA", "Virginia"), ("WA", "Washington"),
        ("WV", "West Virginia"), ("WI", "Wisconsin"), ("WY", "Wyoming"),
        ("DC", "District of Columbia"), ("PR", "Puerto Rico"), ("GU", "Guam"),
        ("VI", "U.S. Virgin Islands"),
    )
)  # fmt: skip

# Other spellings the marketplace has been seen to send for the same jurisdiction.
_ALIASES = {
    "washington dc": "DC",
    "washington d.c.": "DC",
    "virgin islands": "VI",
    "us virgin islands": "VI",
    "united states virgin islands": "VI",
}


class UnknownJurisdictionError(ValueError):
    def __init__(self, value: str) -> None:
        super().__init__(f"unknown jurisdiction {value!r}")
        self.value = value


def _key(value: str) -> str:
    return re.sub(r"\s+", " ", value.strip().lower())


_LOOKUP: dict[str, Jurisdiction] = {
    **{_key(j.code): j for j in JURISDICTIONS},
    **{_key(j.name): j for j in JURISDICTIONS},
    **{alias: next(j for j in JURISDICTIONS if j.code == code) for alias, code in _ALIASES.items()},
}


def resolve_jurisdiction(value: str) -> Jurisdiction:
    """`"tx"`, `"TX"`, `"texas"` and `" Texas "` all resolve to Texas; anything else raises."""
    found = _LOOKUP.get(_key(value))
    if found is None:
        raise UnknownJurisdictionError(value)
    return found
