"""Paged list routes' query parameters: how many items, and where the last page ended."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from shared.paging import CURSOR_PATTERN, MAX_PAGE

PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="items per page")]
PageCursor = Annotated[
    str | None,
    Query(
        max_length=2048,
        pattern=CURSOR_PATTERN,
        description="the previous page's next_cursor; absent for the first page",
    ),
]
