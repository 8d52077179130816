"""`k8s-bundle serve`: a read-only Kubernetes API over bundles, for kubectl.

Only the standard library is imported at module level (k8s_bundle/cli.py imports this module
for every command); the server, the reader and the analyzer are imported inside cmd_serve.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from k8s_bundle.errors import EXIT_BAD_INPUT, EXIT_OK, UserError, shown

# Written into every kubeconfig serve makes: only such a file is overwritten or removed.
KUBECONFIG_MARK = "# written by k8s-bundle serve"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="browse bundles with kubectl: a read-only Kubernetes API on 127.0.0.1",
        description=(
            "Serve one or more bundles as a read-only Kubernetes API on 127.0.0.1 (plain HTTP, no "
            "authentication, loopback only) and write a kubeconfig for it; runs until Ctrl-C or SIGTERM. "
            "kubectl get/describe/logs then work on the objects under cluster/, on objects made up from "
            "node data (marked by the annotation k8s-bundle.io/synthesized), on node logs in the namespace "
            "k8s-bundle-node and on the findings (kubectl get findings -A). See docs/serve.md. "
            "Exit codes: 0 stopped by Ctrl-C or SIGTERM, 4 unusable bundle, busy port or kubeconfig "
            "path, 5 internal error."
        ),
    )
    p.add_argument("bundle", metavar="BUNDLE", nargs="+",
                   help="a bundle (.tgz/.tar.gz/.tar or an extracted directory); several make one cluster")
    p.add_argument("--port", type=_port, default=0,
                   help="port on 127.0.0.1 (default: a free port, printed at start)")
    p.add_argument("--kubeconfig", metavar="PATH",
                   help="where to write the kubeconfig (default: BUNDLE.kubeconfig beside the first bundle); "
                        "an existing file is replaced only when serve wrote it")
    p.add_argument("--rules", metavar="DIR", action="append",
                   help="more rules for the findings (repeatable), as for analyze")
    p.set_defaults(func=cmd_serve)


def _port(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"{n} is not a port number (0-65535)")
    return n


def default_kubeconfig(bundle: str) -> Path:
    p = Path(bundle.rstrip("/") or bundle)
    name = p.name
    for suffix in (".tar.gz", ".tgz", ".tar"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return p.with_name(name + ".kubeconfig")


def kubeconfig_text(url: str) -> str:
    return (f"{KUBECONFIG_MARK} for {url}; removed when it stops\n"
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: k8s-bundle\n  cluster:\n    server: {url}\n"
            "users:\n- name: k8s-bundle\n  user: {}\n"
            "contexts:\n- name: k8s-bundle\n  context:\n    cluster: k8s-bundle\n    user: k8s-bundle\n"
            "    namespace: default\n"
            "current-context: k8s-bundle\n")


def _ours(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(KUBECONFIG_MARK)) == KUBECONFIG_MARK.encode()
    except OSError:
        return False


def check_kubeconfig(path: Path) -> None:
    """Refuse a kubeconfig place serve may not write, before the bundles are read."""
    if not path.parent.is_dir():
        raise UserError(f"{path}: no such directory for the kubeconfig", EXIT_BAD_INPUT)
    if path.is_dir():
        raise UserError(f"{path}: is a directory, not a place for the kubeconfig", EXIT_BAD_INPUT)
    if path.exists() and not _ours(path):
        raise UserError(f"{path}: exists and was not written by k8s-bundle serve; not replacing it "
                        "(choose another place with --kubeconfig)", EXIT_BAD_INPUT)


def write_kubeconfig(path: Path, url: str) -> None:
    from k8s_bundle.safe_output import output_error, write_file

    check_kubeconfig(path)
    try:
        write_file(path, kubeconfig_text(url).encode())
    except OSError as exc:
        raise output_error(exc, path) from None


def cmd_serve(args: argparse.Namespace) -> int:
    from k8s_bundle.serve import httpd, loader, synth
    from k8s_bundle.serve.api import Api

    for b in args.bundle:
        if not Path(b).exists():
            raise UserError(f"{b}: no such file or directory", EXIT_BAD_INPUT)
    kubeconfig = Path(args.kubeconfig) if args.kubeconfig else default_kubeconfig(args.bundle[0])
    check_kubeconfig(kubeconfig)
    server = httpd.bind(args.port)      # first: a busy port fails before minutes of reading
    try:
        if sys.stderr is not None and sys.stderr.isatty():   # a big bundle takes a while; errors stay one line
            print(f"k8s-bundle: reading and analysing {len(args.bundle)} bundle(s)...", file=sys.stderr, flush=True)
        store = loader.load(args.bundle)
        findings = _findings(args.bundle, args.rules)
        synth.synthesize(store, findings)
        del findings            # served as objects from here on; the analyzer's own are not kept
        port = server.server_address[1]
        url = f"http://{httpd.HOST}:{port}"
        httpd.attach(server, Api(store, f"{httpd.HOST}:{port}"))
        for problem in store.problems[:20]:
            print(f"k8s-bundle: note: {problem}", file=sys.stderr)
        if len(store.problems) > 20:
            print(f"k8s-bundle: note: {len(store.problems) - 20} more members refused or cut", file=sys.stderr)
        write_kubeconfig(kubeconfig, url)
        try:
            counts = {k: len(store.objects[k]) for k in ("nodes", "pods", "events", "findings")}
            print(f"k8s-bundle: serving {len(args.bundle)} bundle(s) read-only at {url}: "
                  + ", ".join(f"{v} {k}" for k, v in counts.items()) + "; Ctrl-C to stop", file=sys.stderr)
            print(f"export KUBECONFIG={shown(kubeconfig.resolve())}", flush=True)
            sys.stderr.flush()
            server.serve_forever(poll_interval=0.5)
        except KeyboardInterrupt:
            print("k8s-bundle: serve stopped", file=sys.stderr)
        finally:
            if _ours(kubeconfig):
                try:
                    os.unlink(kubeconfig)
                except OSError:
                    pass
    finally:
        server.server_close()
    return EXIT_OK


def _findings(bundles: list[str], rule_dirs: list[str] | None) -> list:
    """(bundle, Finding) for every bundle, from the analyzer run as `analyze` runs it."""
    from k8s_bundle.analyzer.analysis import analyze_bundle
    from k8s_bundle.analyzer.rule_pack import load_rule_pack

    rules = load_rule_pack(rule_dirs)
    out = []
    for b in bundles:
        out += [(b, f) for f in analyze_bundle(b, rules).findings]
    return out
