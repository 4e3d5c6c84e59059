"""Field types for what senders send: ids and numbers in ASCII only.

Python's regex `\\d` and `Decimal("٩٩")` both accept any Unicode digit (Arabic-Indic, fullwidth,
...): an id that looks like another, or a total no one can read back, would be stored as valid.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

# Printable ASCII without spaces: what the ERP's and marketplace's ids are made of.
ASCII_ID_PATTERN = r"^[\x21-\x7E]+$"
_ASCII_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")


def _ascii_number(value: Any) -> Any:
    """A number given as text (the ERP sends some totals as strings) must be ASCII digits."""
    if isinstance(value, str) and not _ASCII_NUMBER.match(value.strip()):
        raise ValueError("must be a number written with ASCII digits")
    return value


AsciiId = Annotated[str, Field(min_length=1, max_length=128, pattern=ASCII_ID_PATTERN)]
AsciiDecimal = Annotated[Decimal, BeforeValidator(_ascii_number)]
