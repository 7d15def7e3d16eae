"""Render the conversation machine as a Mermaid ``stateDiagram-v2``.

``python -m dialogs.diagram`` rewrites ``docs/state-machine.md``; a test fails when the
committed file differs from what the machine produces, so the picture cannot drift.
"""

from __future__ import annotations

from pathlib import Path

from dialogs.machine import MACHINE, State

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "state-machine.md"

_HEADER = """# Conversation state machine

Generated from `dialogs/machine.py` by `python -m dialogs.diagram`; do not edit by hand.
`step_arrived` fires whenever Kraken reports a (new) current step, so every step state is
reachable from every state; edges of events legal in every state start at `any_state`.
Internal transitions (user events that are legal but keep the state) are listed per state.
"""


def render() -> str:
    edges: set[str] = set()
    internal: dict[str, list[str]] = {}
    for name, event in MACHINE.events.items():
        everywhere = set(event.transitions) == {state.value for state in State}
        for source, transitions in event.transitions.items():
            for transition in transitions:
                if transition.dest is None:
                    if not everywhere:
                        internal.setdefault(source, []).append(name)
                    continue
                origin = "any_state" if everywhere else source
                edges.add(f"    {origin} --> {transition.dest}: {name}")
    lines = ["```mermaid", "stateDiagram-v2", f"    [*] --> {State.NOT_LINKED.value}"]
    lines += sorted(edges)
    for state in sorted(internal):
        lines.append(f"    note right of {state}: {', '.join(sorted(internal[state]))}")
    lines.append("```")
    return _HEADER + "\n" + "\n".join(lines) + "\n"


def main() -> None:
    OUTPUT.write_text(render(), encoding="utf-8")
    print(OUTPUT)


if __name__ == "__main__":
    main()
