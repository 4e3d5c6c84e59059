"""The query parameters of every paged list route: how many, and where the last page ended."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

DEFAULT_PAGE, MAX_PAGE = 25, 100
# An opaque token this API returned: URL-safe base64 of a small JSON key (event_store.*_cursor).
CURSOR_PATTERN = r"^[A-Za-z0-9_\-]+={0,2}$"

PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="items per page")]
PageCursor = Annotated[
    str | None,
    Query(
        max_length=2048,
        pattern=CURSOR_PATTERN,
        description="the previous page's next_cursor; absent for the first page",
    ),
]
