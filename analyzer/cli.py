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
            "Read a bundle (.tgz/.tar.gz or an extracted directory), run the rules and write a report; "
            "several bundles, or a directory of them, make one report across them. "
            "Exit codes: 0 nothing worse than info, 1 warnings, 3 critical findings (several bundles: the worst "
            "of those that could be read), 4 unusable input (every input, for several) or bad rule file, "
            "5 internal error."
        ),
    )
    p.add_argument("bundle", metavar="BUNDLE", nargs="+",
                   help="a bundle (.tgz/.tar.gz/.tar or an extracted directory); several bundles, or a directory "
                        "of bundles, make one report across them (default output: multi-report.html beside the "
                        "first bundle or inside the directory)")
    add_output_options(p, "report")
    p.set_defaults(func=cmd_analyze)

    d = sub.add_parser(
        "diff",
        help="what changed between two bundles (or JSON reports) of the same nodes",
        description=(
            "Compare BEFORE and AFTER, each a bundle (.tgz or extracted directory) or a JSON report of "
            "`analyze --format json`: findings fixed, new and still there (worse when the severity rose or "
            "more lines matched), node facts that changed (versions, configs, sysctls), nodes on one side only. "
            "Exit codes: 0 nothing new or worse, 1 something new or worse (no critical one), "
            "3 a new or worse critical finding, 4 unusable input or bad rule file, 5 internal error."
        ),
    )
    d.add_argument("before", metavar="BEFORE")
    d.add_argument("after", metavar="AFTER")
    add_output_options(d, "diff")
    d.set_defaults(func=cmd_diff)

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


def add_output_options(p: argparse.ArgumentParser, what: str) -> None:
    """The options `analyze` and `diff` share: output place and format, language, rule pack."""
    p.add_argument("-o", "--output", metavar="OUTPUT",
                   help=f"{what} path ('-' for stdout); the format follows its extension (.html/.htm, .json, "
                        f".txt) unless --format says; default: a .html beside the input")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="html (default), json or text; must agree with the extension of -o")
    p.add_argument("--lang", choices=("en", "zh"), default="en",
                   help=f"language of the terminal summary and the {what}'s initial language")
    p.add_argument("--rules", metavar="DIR", action="append",
                   help="more rules (repeatable), added to the shipped pack; a rule with a shipped rule's "
                        "id replaces it (a note on stderr says so)")
    p.add_argument("--no-builtin-rules", action="store_true",
                   help="run only the --rules directories, not the shipped pack")
    p.add_argument("-q", "--quiet", action="store_true", help="no terminal summary")


def _load(dirs: list[str] | None) -> list:
    from k8s_bundle.analyzer.evaluate import RuleError, load_rules

    try:
        return load_rules(dirs or None)
    except RuleError as exc:
        raise UserError(f"bad rule file: {exc}", EXIT_BAD_INPUT) from None


def cmd_analyze(args: argparse.Namespace) -> int:
    from k8s_bundle.analyzer.multi_command import cmd_analyze_many, many_bundles
    from k8s_bundle.analyzer.output import default_output, emit, report_destination
    from k8s_bundle.analyzer.rule_pack import load_rule_pack

    bundles = many_bundles(args.bundle)   # None: one bundle, the single report below
    if bundles is not None:
        return cmd_analyze_many(args, bundles)
    args.bundle = args.bundle[0]
    if not Path(args.bundle).exists():
        raise UserError(f"{args.bundle}: no such file or directory", EXIT_BAD_INPUT)
    fmt, out = report_destination(args, lambda f: default_output(args.bundle, f), (args.bundle,))
    from k8s_bundle.analyzer import render
    from k8s_bundle.analyzer.analysis import analyze_bundle, exit_code_for

    rules = load_rule_pack(args.rules, builtin=not args.no_builtin_rules)
    result = analyze_bundle(args.bundle, rules)
    evidence, findings, unexplained = result.evidence, result.findings, result.unexplained
    if fmt == "html":
        data = render.render_html(evidence, findings, lang=args.lang, unexplained=unexplained).encode("utf-8")
    elif fmt == "json":
        data = render.render_json(evidence, findings, unexplained=unexplained)
    else:
        data = render.render_text(evidence, findings, lang=args.lang, report_path=None, color=False,
                                  unexplained=unexplained).encode("utf-8")
    emit(out, data)
    if out is not None:
        if not args.quiet and sys.stdout is not None:     # None: started with stdout closed
            summary = render.render_text(   # the path escaped: it may hold an ESC sequence
                evidence, findings, lang=args.lang, report_path=shown(out), color=sys.stdout.isatty(),
                unexplained=unexplained,
            )
            sys.stdout.write(summary)
    return exit_code_for(findings)


def cmd_diff(args: argparse.Namespace) -> int:
    for side in (args.before, args.after):
        if not Path(side).exists():
            raise UserError(f"{shown(side)}: no such file or directory", EXIT_BAD_INPUT)
    from k8s_bundle.analyzer.diff import default_diff_output, diff_document, load_side
    from k8s_bundle.analyzer.output import emit, report_destination
    from k8s_bundle.analyzer.rule_pack import load_rule_pack

    fmt, out = report_destination(args, lambda f: default_diff_output(args.after, f), (args.before, args.after), "diff")
    if args.no_builtin_rules and not args.rules:
        load_rule_pack(args.rules, builtin=False)     # the one-line error, even when both sides are reports
    pack: list = []

    def rules() -> list:   # loaded once, and only when a side is a bundle
        if not pack:
            pack.append(load_rule_pack(args.rules, builtin=not args.no_builtin_rules))
        return pack[0]

    before_kind, before = load_side(args.before, rules)
    after_kind, after = load_side(args.after, rules)
    doc = diff_document(args.before, before_kind, before, args.after, after_kind, after)
    from k8s_bundle.analyzer.render.diff_text import render_diff_text

    if fmt == "html":
        from k8s_bundle.analyzer.render.diff_html import render_diff_html

        data = render_diff_html(doc, lang=args.lang).encode("utf-8")
    elif fmt == "json":
        import orjson

        data = orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS,
                            default=str)
    else:
        data = render_diff_text(doc, lang=args.lang).encode("utf-8")
    emit(out, data)
    if out is not None and not args.quiet and sys.stdout is not None:
        sys.stdout.write(render_diff_text(doc, lang=args.lang, diff_path=shown(out)))
    return doc["summary"]["exit_code"]


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
