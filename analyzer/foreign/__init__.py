"""Output folders of other tools, read as bundles (docs/bundle-format.md "Foreign inputs").

`open_foreign(path, limits)` is registered with the bundle reader when this package is
imported (k8s_bundle/bundle/reader.py `register_foreign`; analyzer/evidence.py imports it, so
everything that analyzes reads these folders): it returns a BundleReader for a folder it
recognises, or None so the reader goes on as usual. `redact` and `verify` do not import it:
they read such a folder as the plain files it holds.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from k8s_bundle.bundle.reader import BundleReader, Member, ReaderLimits, register_foreign


class ForeignReader(BundleReader):
    """Members synthesized in memory from a foreign folder (small text files, capped)."""

    def __init__(self, path: Path, kind: str, limits: ReaderLimits, produce) -> None:  # noqa: ANN001
        super().__init__(path, kind, limits)
        self._produce = produce

    def __iter__(self) -> Iterator[Member]:
        if self._used:
            raise RuntimeError("a BundleReader can be iterated once")
        self._used = True
        return self._iter_foreign()

    def _iter_foreign(self) -> Iterator[Member]:
        for rel, data, problems in self._produce(self.path):
            for src, message in problems:
                self._problem("rejected", f"collectlogs {src}: {message}", src)
            cap = min(len(data), self.limits.max_member_bytes)

            def chunks(chunk_size: int, limit: int, data: bytes = data) -> Iterator[bytes]:
                view = data[:limit]
                for i in range(0, len(view), max(1, chunk_size)):
                    yield view[i:i + chunk_size]

            yield Member(rel, len(data), chunks, cap, self.limits.max_parsed_bytes)


def open_foreign(path: Path, limits: ReaderLimits) -> BundleReader | None:
    from k8s_bundle.analyzer.foreign import collectlogs

    if collectlogs.looks_like(path):
        return ForeignReader(path, "collectlogs", limits, collectlogs.iter_members)
    return None


register_foreign(open_foreign)
