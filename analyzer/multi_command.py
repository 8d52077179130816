"""`k8s-bundle analyze A.tgz B.tgz ...` and `analyze DIR/`: the multi-bundle branch of the
`analyze` command (options in, exit code out; the analysis itself is analyzer/multi.py).

analyzer/cli.py hands over here when its inputs are more than one bundle; one bundle keeps
the single report. The options are analyze's (-o, --format or the extension of -o, --lang,
--rules, --no-builtin-rules, -q). Exit code: the worst among the bundles that could be read;
an unusable bundle among others is one line on stderr and a row in the report; when none
could be read, exit 4.
"""
from __future__ import annotations

import argparse
import sys

from k8s_bundle.errors import EXIT_BAD_INPUT, UserError, shown


def many_bundles(inputs: list[str]) -> list[str] | None:
    """The bundles of a multi-bundle run, or None for one bundle (analyze's single report)."""
    from k8s_bundle.analyzer.multi import expand_inputs

    return expand_inputs(inputs)


def cmd_analyze_many(args: argparse.Namespace, bundles: list[str]) -> int:
    from k8s_bundle.analyzer.multi import default_multi_output
    from k8s_bundle.analyzer.output import emit, report_destination
    from k8s_bundle.analyzer.rule_pack import load_rule_pack

    fmt, out = report_destination(args, lambda f: default_multi_output(args.bundle, f), tuple(bundles))
    from k8s_bundle.analyzer.multi import analyze_many, exit_code_of

    rules = load_rule_pack(args.rules, builtin=not args.no_builtin_rules)

    def unusable(path: str, reason: str) -> None:
        # the reader's messages name the path already; say which input it was when they do not
        text = shown(reason) if shown(path) in shown(reason) else f"{shown(path)}: {shown(reason)}"
        print(f"k8s-bundle: warning: skipped {text}", file=sys.stderr)

    results = analyze_many(bundles, rules, fmt, args.lang, unusable)
    code = exit_code_of(results)
    if code == EXIT_BAD_INPUT:
        raise UserError(f"none of the {len(results)} inputs is a usable bundle", EXIT_BAD_INPUT)
    data = _render(results, fmt, args.lang)
    emit(out, data)
    if out is not None:
        if not args.quiet and sys.stdout is not None:
            from k8s_bundle.analyzer.render.multi_text import render_multi_summary

            sys.stdout.write(render_multi_summary(results, lang=args.lang, report_path=shown(out)))
    return code


def _render(results: list, fmt: str, lang: str) -> bytes:
    if fmt == "html":
        from k8s_bundle.analyzer.render.multi_html import render_multi_html

        return render_multi_html(results, lang).encode("utf-8")
    if fmt == "json":
        import orjson

        from k8s_bundle.analyzer.multi import multi_document

        return orjson.dumps(multi_document(results), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
                            | orjson.OPT_NON_STR_KEYS, default=str)
    from k8s_bundle.analyzer.render.multi_text import render_multi_text

    return render_multi_text(results, lang).encode("utf-8")
