"""The reviewer's page (placeholder until the page is written)."""

from __future__ import annotations

from typing import Any


def routes(service: Any) -> list[Any]:
    return []
