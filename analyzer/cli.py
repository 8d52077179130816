"""`k8s-bundle analyze` and `k8s-bundle rules list|lint|test`.

Only the standard library is imported at module level (k8s_bundle/cli.py imports this module
for every command, including the collector-only binary); the analyzer is imported inside the
command functions.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from k8s_bundle.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_WARNINGS, UserError, shown

FORMATS = ("html", "json", "text")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze",
        help="analyze a bundle and write the report",
        description=(
            "Read a bundle (.tgz/.tar.gz or an extracted directory), run the rules and write a report. "
            "Exit codes: 0 nothing worse than info, 1 warnings, 3 critical findings, "
            "4 unusable input or bad rule file, 5 internal error."
        ),
    )
    p.add_argument("bundle", metavar="BUNDLE")
    p.add_argument("-o", "--output", metavar="OUTPUT",
                   help="report path ('-' for stdout); default: <bundle name>.html|.json beside the bundle")
    p.add_argument("--format", choices=FORMATS, default="html")
    p.add_argument("--lang", choices=("en", "zh"), default="en",
                   help="language of the terminal summary and the report's initial language")
    p.add_argument("--rules", metavar="DIR", action="append",
                   help="rules directory (repeatable); default: the shipped rules")
    p.add_argument("-q", "--quiet", action="store_true", help="no terminal summary")
    p.set_defaults(func=cmd_analyze)

    r = sub.add_parser("rules", help="list, lint and test rules")
    rsub = r.add_subparsers(dest="rules_command", metavar="ACTION")
    rsub.required = True
    lst = rsub.add_parser("list", help="list the rules")
    lst.add_argument("dirs", nargs="*", metavar="DIR", help="rules directories (default: the shipped rules)")
    lst.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    lst.set_defaults(func=cmd_rules_list)
    lint = rsub.add_parser("lint", help="validate rule files (exit 4 on any problem)")
    lint.add_argument("dirs", nargs="*", metavar="DIR")
    lint.set_defaults(func=cmd_rules_lint)
    test = rsub.add_parser("test", help="run every rule's fixtures (exit 1 when one fails)")
    test.add_argument("dirs", nargs="*", metavar="DIR")
    test.add_argument("--rule", action="append", metavar="ID", help="only this rule (repeatable)")
    test.set_defaults(func=cmd_rules_test)


def _load(dirs: list[str] | None) -> list:
    from k8s_bundle.analyzer.engine import RuleError, load_rules

    try:
        return load_rules(dirs or None)
    except RuleError as exc:
        raise UserError(f"bad rule file: {exc}", EXIT_BAD_INPUT) from None


def default_output(bundle: str, fmt: str) -> Path:
    p = Path(bundle.rstrip("/"))
    name = p.name
    for suffix in (".tar.gz", ".tgz", ".tar"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    ext = {"html": ".html", "json": ".json", "text": ".txt"}[fmt]
    return p.with_name(name + ext)


def cmd_analyze(args: argparse.Namespace) -> int:
    from k8s_bundle.safe_output import check_output, write_file

    if not Path(args.bundle).exists():
        raise UserError(f"{args.bundle}: no such file or directory", EXIT_BAD_INPUT)
    to_stdout = args.output == "-"
    if to_stdout and sys.stdout is None:
        # started with standard output closed (`>&-`): Python leaves sys.stdout None
        raise UserError("cannot write the report to standard output: it is closed", EXIT_BAD_INPUT)
    out = None if to_stdout else Path(args.output) if args.output else default_output(args.bundle, args.format)
    if out is not None:
        # An unusable report place fails before the analysis (and before its heavy imports).
        check_output(args.output or out, force=True, inputs=(args.bundle,))   # the raw -o: `-o dir/` is refused
    from k8s_bundle.analyzer import render
    from k8s_bundle.analyzer.analysis import analyze_bundle, exit_code_for

    rules = _load(args.rules)
    result = analyze_bundle(args.bundle, rules)
    evidence, findings, unexplained = result.evidence, result.findings, result.unexplained
    if args.format == "html":
        data = render.render_html(evidence, findings, lang=args.lang, unexplained=unexplained).encode("utf-8")
    elif args.format == "json":
        data = render.render_json(evidence, findings, unexplained=unexplained)
    else:
        data = render.render_text(evidence, findings, lang=args.lang, report_path=None, color=False,
                                  unexplained=unexplained).encode("utf-8")
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        write_file(out, data)   # hidden part, O_EXCL|O_NOFOLLOW, rename: no planted link is followed
        if not args.quiet and sys.stdout is not None:     # None: started with stdout closed
            summary = render.render_text(   # the path escaped: it may hold an ESC sequence
                evidence, findings, lang=args.lang, report_path=shown(out), color=sys.stdout.isatty(),
                unexplained=unexplained,
            )
            sys.stdout.write(summary)
    return exit_code_for(findings)


def cmd_rules_list(args: argparse.Namespace) -> int:
    import json

    rules = sorted(_load(args.dirs), key=lambda r: r.id)
    if args.format == "json":
        doc = [
            {"id": r.id, "severity": r.severity, "platforms": r.platforms, "components": r.components,
             "scope": r.scope, "title": r.title, "path": r.path, "fixtures": len(r.tests)}
            for r in rules
        ]
        print(json.dumps(doc, ensure_ascii=False, indent=2))
    elif args.format == "markdown":
        # The whole of docs/rules.md: the rule table, then (for the shipped pack) every rule's
        # sources and the seed catalogue, so one command regenerates the file.
        if not args.dirs:
            print("# Rules\n")
            print("Generated by `k8s-bundle rules list --format markdown > docs/rules.md`. Do not edit by hand.\n")
        print("| id | severity | platforms | components | title | 标题 |")
        print("|---|---|---|---|---|---|")
        for r in rules:
            cells = [r.id, r.severity, ", ".join(r.platforms), ", ".join(r.components), r.title["en"], r.title["zh"]]
            print("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        if not args.dirs:
            from k8s_bundle.rules.catalogue import render_markdown

            print()
            print(render_markdown(), end="")
    else:
        width = max((len(r.id) for r in rules), default=0)
        for r in rules:
            print(f"{r.id:<{width}}  {r.severity:<8}  {','.join(r.platforms):<13}  {r.title['en']}")
        print(f"{len(rules)} rules")
    return EXIT_OK


def cmd_rules_lint(args: argparse.Namespace) -> int:
    from k8s_bundle.analyzer.rules_load import (
        RuleError, lint_rules, load_rule_file, rule_files, shipped_rule_dirs,
    )

    try:
        files = rule_files(args.dirs or shipped_rule_dirs())
    except RuleError as exc:
        raise UserError(str(exc), EXIT_BAD_INPUT) from None
    problems: list[str] = []
    rules = []
    seen: dict[str, str] = {}
    for f in files:
        try:
            rule = load_rule_file(f)
        except RuleError as exc:
            problems.append(str(exc))
            continue
        if rule.id in seen:
            problems.append(f"{f}: duplicate rule id {rule.id!r} (also in {seen[rule.id]})")
            continue
        seen[rule.id] = str(f)
        rules.append(rule)
    problems += lint_rules(rules)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) in {len(files)} rule file(s)", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{len(rules)} rules OK")
    return EXIT_OK


def cmd_rules_test(args: argparse.Namespace) -> int:
    from k8s_bundle.analyzer.fixtures import run_rule_fixtures

    rules = _load(args.dirs)
    if args.rule:
        unknown = set(args.rule) - {r.id for r in rules}
        if unknown:
            raise UserError(f"no such rule: {', '.join(sorted(unknown))}", EXIT_BAD_INPUT)
        rules = [r for r in rules if r.id in args.rule]
    failed = total = missing = 0
    for rule in rules:
        results = run_rule_fixtures(rule)
        if not any(r.expect == "fire" for r in results) or not any(r.expect == "quiet" for r in results):
            print(f"FAIL {rule.id}: needs at least one `fire` and one `quiet` fixture ({rule.path})")
            missing += 1
        for res in results:
            total += 1
            if not res.ok:
                failed += 1
                print(res.describe())
    print(f"{len(rules)} rules, {total} fixtures: {total - failed} passed, {failed} failed"
          + (f", {missing} rule(s) without both fixture kinds" if missing else ""))
    return EXIT_WARNINGS if failed or missing else EXIT_OK
