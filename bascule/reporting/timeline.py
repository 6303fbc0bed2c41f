"""A scenario's timeline, drawn from its history: what a teacher shows the class.

One time axis (seconds from the scenario's start), with:
- the FTP service as the probe lived it, on one lane: usable (green), no service (red), uploads
  refused (pink), operations left without an answer in time (grey ticks);
- the faults bascule injected, as shaded windows;
- each node's resource operations on a lane of its own, from the controller journals that the
  moves read (the anatomy's source), coloured by task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from bascule.facts.events import fault_spans
from bascule.facts.windows import downtime_windows, write_refusals
from bascule.record.cluster_state import parse_controld_journal
from bascule.record.history import CLIENT, INFO, VERDICT, Event

TASK_COLOURS = {
    "stop": "#d62728",
    "demote": "#ff7f0e",
    "promote": "#2ca02c",
    "start": "#1f77b4",
    "notify": "#9467bd",
    "monitor": "#8c8c8c",
}


def journals_in(events: Iterable[Event]) -> list[dict]:
    """The controller journals that the rows' observations hold (a move's, or a takeover's move)."""
    found = []
    for e in events:
        if e.source != VERDICT or not isinstance(e.value, dict):
            continue
        value = (e.value.get("observation") or {}).get("value") or {}
        for holder in (value, value.get("move") or {}):
            if isinstance(holder, dict):
                found.extend(j for j in holder.get("journals") or () if not j.get("error"))
    return found


def node_operations(events: Iterable[Event]) -> dict[str, list[tuple[float, float | None, str, str]]]:
    """node -> [(start, end, task, resource)] on the history's clock, each operation once."""
    lanes: dict[str, dict[tuple, tuple]] = {}
    for j in journals_in(events):
        for op in parse_controld_journal(j["text"]):
            start = op.start - j["offset"] - j["t0"]
            end = None if op.end is None else op.end - j["offset"] - j["t0"]
            key = (op.task, op.resource, round(op.start, 3))  # two moves may have read the same lines
            lanes.setdefault(op.node, {})[key] = (start, end, op.task, op.resource)
    return {node: sorted(ops.values()) for node, ops in sorted(lanes.items())}


COLOURS = {"ok": "#2ca02c", "write": "#e377c2", "down": "#d62728", "unknown": "#7f7f7f"}


def _client_lane(ax, span: list[Event], since: float, y: float) -> None:
    """The client's lane."""
    ops = [e for e in span if e.source == CLIENT]
    if ops:
        # the service as the client lived it: usable (green), then each outage and each stretch of
        # refused uploads over it; the operations left without an answer in time as grey ticks
        first, last = min(op.t for op in ops), max(op.end for op in ops)
        ax.broken_barh([(first - since, last - first)], (y - 0.25, 0.5), facecolors=COLOURS["ok"])
        for windows, colour in ((write_refusals(ops), COLOURS["write"]), (downtime_windows(ops), COLOURS["down"])):
            for w in windows:
                end = w.end if w.end is not None else last
                ax.broken_barh([(w.start - since, max(end - w.start, 0.1))], (y - 0.25, 0.5), facecolors=colour)
        for op in ops:
            if op.outcome == INFO:
                ax.plot([op.t - since] * 2, [y - 0.35, y + 0.35], color=COLOURS["unknown"], lw=1)


def _node_lanes(ax, nodes: dict, y_of: dict, since: float, until: float) -> None:
    """Each node's lane: its journalled operations."""
    for node, ops in nodes.items():
        y = y_of[node]
        for start, end, task, resource in ops:
            if start > until or (end is not None and end < since):
                continue
            x0 = start - since
            width = (end if end is not None else until) - start
            ax.broken_barh(
                [(x0, max(width, 0.1))],
                (y - 0.3, 0.6),
                facecolors=TASK_COLOURS.get(task, "#17becf"),
                edgecolor="black",
                linewidth=0.3,
            )
            if width >= 4.0 and task != "monitor":
                ax.text(x0 + width / 2, y, f"{task} {resource}", fontsize=6, ha="center", va="center", color="white")


def draw(events: list[Event], since: float, until: float, title: str, path: str | Path) -> Path:
    """Draw the timeline of the history between `since` and `until` into a PNG at `path`."""
    import matplotlib  # noqa: PLC0415 - matplotlib costs half a second and the plugin loads on every pytest run: imported to draw, after Agg is chosen

    matplotlib.use("Agg")  # no display here: render to a file
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after matplotlib.use
    from matplotlib.patches import Patch  # noqa: PLC0415 - after matplotlib.use

    span = [e for e in events if since <= e.t <= until]
    nodes = node_operations(span)
    lanes = ["client FTP (sonde)"] + [f"{n}" for n in nodes]
    fig, ax = plt.subplots(figsize=(12, 1.4 + 0.9 * len(lanes)), dpi=100)
    y_of = {name: len(lanes) - 1 - i for i, name in enumerate(lanes)}

    for start, end in fault_spans(span):
        x0 = start.t - since
        x1 = (end.t if end is not None else until) - since
        ax.axvspan(x0, x1, color="#ffd54f", alpha=0.25, lw=0)
        ax.text(x0, len(lanes) - 0.45, start.process, fontsize=7, va="bottom", color="#7a5c00")

    _client_lane(ax, span, since, y_of["client FTP (sonde)"])
    _node_lanes(ax, nodes, y_of, since, until)

    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels(list(reversed(lanes)))
    ax.set_ylim(-0.6, len(lanes) - 0.1)
    ax.set_xlim(0, max(1.0, until - since))
    ax.set_xlabel("secondes depuis le début du scénario")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    legend = [
        Patch(color=COLOURS["ok"], label="FTP utilisable"),
        Patch(color=COLOURS["down"], label="FTP indisponible"),
        Patch(color=COLOURS["write"], label="envoi refusé"),
        Patch(color=COLOURS["unknown"], label="sans réponse à temps"),
        Patch(color="#ffd54f", alpha=0.4, label="panne injectée"),
    ]
    legend += [Patch(color=c, label=t) for t, c in TASK_COLOURS.items()]
    ax.legend(
        handles=legend,
        fontsize=7,
        ncol=6,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.25 - 0.05 * len(lanes) / 3),
        frameon=False,
    )
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
