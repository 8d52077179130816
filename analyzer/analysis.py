"""One bundle analysed: reader -> facts + log index -> rules -> findings, blind spots and the
errors no rule explains. `analyze`, multi-bundle reports and `diff` all start here, so a
bundle means the same thing to each of them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from k8s_bundle.analyzer.model import Evidence, Finding
from k8s_bundle.errors import EXIT_CRITICAL, EXIT_OK, EXIT_WARNINGS


@dataclass
class Analysis:
    evidence: Evidence
    findings: list[Finding]
    unexplained: list[Any] = field(default_factory=list)   # analyzer.unexplained.Template, best first


def analyze_bundle(path: str, rules: list[Any]) -> Analysis:
    """Analyse one bundle (.tgz or extracted directory) with loaded rules."""
    from k8s_bundle.analyzer.blindspots import with_blind_spots
    from k8s_bundle.analyzer.evaluate import evaluate
    from k8s_bundle.analyzer.evidence import load_evidence
    from k8s_bundle.analyzer.unexplained import unexplained_templates

    from k8s_bundle.analyzer.logkeep import KeepPolicy

    # only the log lines a rule or a view reads become rows: memory flat in the log volume
    evidence = load_evidence(path, keep=KeepPolicy.for_rules(rules))
    findings = evaluate(rules, evidence)
    # Logs the bundle lacks (kubelet, runtime, kernel): said, so that silence is not read as health.
    findings = with_blind_spots(findings, rules, evidence)
    return Analysis(evidence, findings, unexplained_templates(evidence, rules))


def exit_code_for(findings: list[Finding]) -> int:
    """0 nothing worse than info, 1 warnings, 3 critical findings (README, `analyze --help`)."""
    severities = {f.severity for f in findings}
    if "critical" in severities:
        return EXIT_CRITICAL
    if "warning" in severities:
        return EXIT_WARNINGS
    return EXIT_OK
