"""The rules a command runs: the shipped pack, the --rules directories, or both."""
from __future__ import annotations

import sys

from k8s_bundle.errors import EXIT_BAD_INPUT, UserError, shown


def load_rule_pack(extra_dirs: list[str] | None, builtin: bool = True) -> list:
    """The rules `analyze` and `diff` run: the shipped pack plus the --rules dirs, or (builtin
    False, `--no-builtin-rules`) the --rules dirs alone.

    A --rules rule whose id is a shipped rule's replaces it, with a note on stderr: that is how a
    site tunes a shipped rule (a threshold, a message) without forking the pack. Two --rules
    files with one id stay an error (exit 4), as in `rules lint`."""
    from k8s_bundle.analyzer.evaluate import RuleError, load_rules

    if not builtin and not extra_dirs:
        raise UserError("--no-builtin-rules needs at least one --rules DIR (there would be no rule to run)",
                        EXIT_BAD_INPUT)
    try:
        extra = load_rules(extra_dirs) if extra_dirs else []
        if not builtin:
            return extra
        shipped = load_rules(None)
    except RuleError as exc:
        raise UserError(f"bad rule file: {exc}", EXIT_BAD_INPUT) from None
    mine = {r.id: r for r in extra}
    for r in shipped:
        if r.id in mine:
            print(f"k8s-bundle: note: rule {shown(r.id)} from {shown(mine[r.id].path)} replaces the shipped one",
                  file=sys.stderr)
    return [r for r in shipped if r.id not in mine] + extra
