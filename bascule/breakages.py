"""Deliberately broken clusters: `bascule lab break NAME` / `bascule lab heal NAME`."""
from __future__ import annotations

BREAKAGES: dict = {}


def add_commands(sub) -> None:
    pass
