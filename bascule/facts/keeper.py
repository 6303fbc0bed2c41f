"""Document 3's choice after a split brain: whose data to keep. The node that acknowledged the
clients' uploads while the two halves ran apart holds what the users wrote; keeping the other one
would throw that away."""
from __future__ import annotations


def keeper_by_acks(acks: dict[str, int], default: str) -> str:
    """The node with the most uploads acknowledged during the cut (the first named on a tie); `default`
    when neither acknowledged any."""
    if not any(acks.values()):
        return default
    return max(acks, key=lambda name: acks[name])
