"""A scenario's steps as the rows of the lab's table: each Then step is a row, its action the When
before it. Shared by the rows a failed step leaves and those an interruption leaves (not a pytest
plugin module, so that both can import it)."""
from __future__ import annotations

from typing import Iterable, Iterator


def then_rows(steps: Iterable, action: str = "") -> Iterator[tuple[str, object]]:
    """Each Then step with its action: the text of the When before it, or `action` for the Thens
    before any When."""
    for s in steps:
        if s.type == "when":
            action = s.name
        elif s.type == "then":
            yield action, s
