"""`k8s-bundle verify BUNDLE`: an independent second opinion on whether a bundle is safe to share.

Independent of `redact` in both halves:
- reading: the analyzer's hardened reader (k8s_bundle/bundle/reader.py, same caps as `analyze`), not the
  redactor's walker, so a name the reader refuses cannot hide a member from verify. Every member
  the reader refuses or cuts short (escaping or absolute paths, links, devices, duplicates, a cap
  reached, a truncated archive) is a finding of its own and fails verify. The bytes of a tar
  member refused for its name only (`x/../y`, a duplicate, a path too long or too deep) are
  scanned as well, capped like any member, so a secret hidden there is named too; links and
  devices carry no bytes.
- detecting: redact/secretscan.py, its own table of token formats and its own context rules,
  not the redactor's rules (which would share the redactor's blind spots).

Nothing read from the bundle reaches the terminal raw: member names and messages are escaped
(C0/C1 controls, DEL, bidi overrides, invalid UTF-8 as \\xNN), and values are never printed,
only their length. Exit codes: 0 clean, 1 something secret-looking or a refused/unscanned
member, 4 unusable input (missing, not a bundle, bad --redact-rules file).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from k8s_bundle.bundle.reader import BundleReader, Member, ReaderLimits, open_bundle, open_tree
from k8s_bundle.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_WARNINGS, UserError, shown
from k8s_bundle.redact.secretscan import Finding, SecretScanner, custom_patterns, load_patterns

_CHUNK = 1 << 20


def run_verify(args: argparse.Namespace) -> int:
    patterns = load_patterns()
    if getattr(args, "redact_rules", None):
        patterns += custom_patterns(args.redact_rules)
    report = verify_path(Path(args.bundle), patterns, out=None if args.quiet else sys.stdout)
    if report.files == 0 and not report.problems:
        raise UserError(f"{shown(str(args.bundle))}: holds no files to verify", EXIT_BAD_INPUT)
    if report.count or report.problems:
        parts = []
        if report.count:
            parts.append(f"{report.count} secret-looking value(s)")
        if report.problems:
            parts.append(f"{len(report.problems)} member(s) refused or not fully scanned")
        print(f"verify: {' and '.join(parts)} in {report.files} files: do not attach this bundle "
              f"(run `k8s-bundle redact` on it, then verify the output)", file=sys.stderr)
        return EXIT_WARNINGS
    print(f"verify: clean ({report.files} files, {report.bytes} bytes scanned)", file=sys.stderr)
    return EXIT_OK


KEEP_FINDINGS = 10_000   # findings kept in memory (all are printed and counted)


class Report:
    def __init__(self) -> None:
        self.count = 0                    # findings in all
        self.findings: list[Finding] = []
        self.problems: list[str] = []     # escaped one-line descriptions
        self.files = 0
        self.bytes = 0


def verify_path(path: Path, patterns: list | None = None, out: TextIO | None = None,
                limits: ReaderLimits | None = None) -> Report:
    """Scan the bundle (tarball or directory) at `path`; print each finding to `out` as it comes."""
    reader = _reader(path, limits or ReaderLimits())
    scanner = SecretScanner(patterns, cap=reader.limits.max_member_bytes)
    report = Report()

    def emit_finding(name: str, f: Finding) -> None:
        report.count += 1
        if len(report.findings) < KEEP_FINDINGS:
            report.findings.append(f)
        if out is not None:
            # a hit over several lines (a private key block) names its last line too
            span = f", lines {f.line}-{f.end_line}" if f.end_line > f.line else ""
            out.write(f"{shown(name)}:{f.line}:{f.kind} ({f.rule}) ***({f.length} chars{span})\n")

    def emit_problem(text: str) -> None:
        report.problems.append(text)
        if out is not None:
            out.write(text + "\n")

    def scan(member: Member, name: str) -> None:
        counted = _Counted(member.chunks(_CHUNK))
        for f in scanner.scan(name, counted):
            emit_finding(name, f)
        report.bytes += counted.total
        for note in scanner.notes:
            emit_problem(f"{shown(name)}:0:not-scanned (verify) {shown(note)}")

    def refused(member: Member) -> None:
        # The reader already recorded why; the content is checked under its raw name.
        scan(member, member.path)

    reader.on_refused_data = refused
    reported = 0
    for member in reader:
        report.files += 1
        scan(member, member.path)
        reported = _flush_problems(reader, reported, emit_problem)
    _flush_problems(reader, reported, emit_problem)
    return report


def _flush_problems(reader: BundleReader, start: int, emit) -> int:  # noqa: ANN001
    for p in reader.problems[start:]:
        where = shown(p.path) if p.path else shown(str(reader.path))
        emit(f"{where}:0:{p.kind}-member (reader) {shown(p.message)}")
    return len(reader.problems)


class _Counted:
    def __init__(self, chunks) -> None:  # noqa: ANN001
        self._chunks = chunks
        self.total = 0

    def __iter__(self):  # noqa: ANN204
        for c in self._chunks:
            self.total += len(c)
            yield c


def _reader(path: Path, limits: ReaderLimits) -> BundleReader:
    """The hardened reader on a tarball or a directory. A directory need not be a bundle
    (`verify /etc/kubernetes` before attaching files gathered by hand); other tools' folders
    are read as the files they hold, not as the analyzer's synthesized members."""
    if path.is_dir() and not path.is_symlink():
        return open_tree(path, limits, plain=False)
    return open_bundle(path, limits)
