"""JSON as RFC 8259 says, with bounds: what every request body is parsed with, before any model.

Refused, each with a reason a client can act on: `NaN` / `Infinity` literals (not JSON), a key
repeated in one object (which value was signed?), nesting deeper than `MAX_DEPTH`, a number
literal longer than `MAX_NUMBER_LENGTH` or outside what DynamoDB stores (38 significant digits,
magnitude 1e-130 to 1e126: a float would silently turn `1e-400` into 0 and `1e400` into inf), a
string with a lone surrogate (not UTF-8: no store or queue accepts it).
"""

from __future__ import annotations

import json
from decimal import Context, Decimal, InvalidOperation
from typing import Any

MAX_DEPTH = 32
MAX_NUMBER_LENGTH = 40
_MAX_DIGITS = 38
_MIN_EXPONENT, _MAX_EXPONENT = -130, 125
# The default context rounds to 28 digits: counting must see every digit a literal has.
_EXACT = Context(prec=MAX_NUMBER_LENGTH + 1)


class StrictJsonError(ValueError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # a metric dimension: not_json, non_finite, too_deep, ...
        self.message = message


def _constant(name: str) -> Any:
    raise StrictJsonError("non_finite", f"{name} is not a JSON value")


def _checked(text: str) -> Decimal:
    if len(text) > MAX_NUMBER_LENGTH:
        raise StrictJsonError(
            "number_too_long",
            f"a number has {len(text)} characters; at most {MAX_NUMBER_LENGTH} are accepted",
        )
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # the decoder only hands over valid literals
        raise StrictJsonError("not_json", f"{text!r} is not a number") from exc
    if value:
        normal = value.normalize(_EXACT)
        if len(normal.as_tuple().digits) > _MAX_DIGITS:
            raise StrictJsonError(
                "number_out_of_range", f"a number has more than {_MAX_DIGITS} significant digits"
            )
        if not _MIN_EXPONENT <= normal.adjusted() <= _MAX_EXPONENT:
            raise StrictJsonError(
                "number_out_of_range",
                f"a number's magnitude is outside 1e{_MIN_EXPONENT} to 1e{_MAX_EXPONENT + 1}",
            )
    return value


def _integer(text: str) -> int:
    return int(_checked(text))


def _float(text: str) -> float:
    return float(_checked(text))


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise StrictJsonError("duplicate_key", f"the key {key!r} appears twice in one object")
        document[key] = value
    return document


def loads(raw: bytes | str) -> Any:
    """The document, or `StrictJsonError` saying what is wrong with it."""
    try:
        document = json.loads(
            raw,
            parse_constant=_constant,
            parse_int=_integer,
            parse_float=_float,
            object_pairs_hook=_object,
        )
    except StrictJsonError:
        raise
    except RecursionError as exc:
        raise StrictJsonError("too_deep", f"nested deeper than {MAX_DEPTH} levels") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise StrictJsonError("not_json", "the body is not valid JSON (UTF-8)") from exc
    _check_depth_and_strings(document)
    return document


def _check_depth_and_strings(document: Any) -> None:
    """Iteratively: a deep document must not need a deep stack to be refused."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise StrictJsonError("too_deep", f"nested deeper than {MAX_DEPTH} levels")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    _utf8(key)
                stack.append((item, depth + 1))
        elif isinstance(value, str):
            _utf8(value)


def _utf8(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise StrictJsonError(
            "invalid_string", "a string is not valid Unicode (a lone surrogate)"
        ) from exc
