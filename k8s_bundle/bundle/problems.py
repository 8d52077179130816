"""Something wrong with the input itself, found while reading a bundle or parsing a member."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Problem:
    """Something wrong with the input itself: a rejected member, a parse error, truncation.

    Problems become findings of the built-in rules `bundle-truncated`, `bundle-member-rejected`,
    `bundle-limit-reached` and `parse-error`, so the report shows them like any other finding.
    """

    kind: str                 # truncated | rejected | limit | parse-error | format
    message: str
    path: str | None = None   # the bundle member concerned
    node: str | None = None
