"""Several remote nodes, one bundle: the shared way `--winrm` and `--ssh` collect many hosts.

One engine run per host (same catalogue, caps, timeouts and redaction as a local run). With one
host the engine writes the bundle directly. With several, each run writes a part bundle beside
the output and the parts are merged into one bundle with one `nodes/<node>/` per host and one
manifest (docs/bundle-format.md: a multi-node collection is one bundle). The parts hold only
redacted bytes, written by the same BundleWriter into one hidden part directory beside the
output (k8s_bundle/safe_output.py: removed at the end, or by the next run if this one is killed). One Redactor
serves every host, so the same secret gets the same placeholder on every node.

Fail forward: a host that cannot be reached (connection refused, authentication, unknown host
key) is reported on stderr in one line and listed in the manifest's `failed_hosts`; the other
hosts are still collected. When no host could be collected the run fails with exit 4 and
writes no bundle.
"""
from __future__ import annotations

import datetime as dt
import sys
import tarfile
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from k8s_bundle.errors import EXIT_BAD_INPUT, UserError, shown
from k8s_bundle.safe_output import PartDir, check_output


def collect_hosts(hosts: list[str], opts: Any, redactor: Any, *, connect: Callable[[str], Any],
                  catalogue: Callable[[Any], list[Any]], progress_factory: Callable[[], Any],
                  transport_name: str) -> list[Any]:
    """Collect every host; returns the CollectResults (the last one names the bundle).

    connect(host) returns an open transport (with close() and a settable `hostname`) or raises
    UserError with a one-line message naming the host."""
    from k8s_bundle.collector.engine import Engine, detect_hostname, node_name

    hosts = list(dict.fromkeys(hosts))
    if len(hosts) == 1:
        transport = connect(hosts[0])   # its UserError is the run's one-line error (exit 4)
        try:
            engine = Engine(opts, transport, progress_factory(), redactor)
            return [engine.run(catalogue(engine.ctx))]
        finally:
            transport.close()

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    output = check_output(opts.output or f"k8s-bundle-multi-{stamp}.tgz", force=opts.force)
    results: list[Any] = []
    parts: list[Path] = []
    failed: list[dict[str, str]] = []
    seen: set[str] = set()
    with PartDir(output) as staging:   # never committed: only the parts' place while we run
        assert staging.path is not None
        for n, host in enumerate(hosts):
            try:
                transport = connect(host)
            except UserError as exc:
                print(f"k8s-bundle: {shown(str(exc))} (the other hosts are still collected)", file=sys.stderr)
                failed.append({"host": redactor.redact_text(host), "transport": transport_name,
                               "error": redactor.redact_text(str(exc))})
                continue
            try:
                # Two hosts reporting the same name would collide in the bundle: keep both.
                hostname = detect_hostname(transport) or host
                while node_name(hostname) in seen:
                    hostname = f"{hostname}-{n + 1}"
                seen.add(node_name(hostname))
                transport.hostname = hostname
                part = staging.path / f"node{n}.tgz"
                engine = Engine(replace(opts, output=str(part), force=True), transport,
                                progress_factory(), redactor)
                results.append(engine.run(catalogue(engine.ctx)))
                parts.append(part)
            finally:
                transport.close()
            if results[-1].partial:
                break  # interrupted: merge what we have
        if not results:
            raise UserError("no host could be collected: " + "; ".join(f["error"] for f in failed),
                            EXIT_BAD_INPUT)
        merge_bundles(parts, output, stamp, redactor.report(), force=opts.force, failed_hosts=failed)
    for r in results:
        r.output = output
    return results


def merge_bundles(parts: list[Path], output: Path, stamp: str, redaction: dict[str, Any], *,
                  force: bool, failed_hosts: list[dict[str, str]] | None = None) -> Path:
    """One bundle from several single-node bundles: members copied as they are (already
    redacted), manifests combined (nodes and items concatenated, partial if any part was)."""
    import orjson

    from k8s_bundle.bundle_writer import MANIFEST_NAME, REDACTION_NAME, BundleWriter

    manifests: list[dict[str, Any]] = []
    with BundleWriter(output, top_dir=f"k8s-bundle-multi-{stamp}", overwrite=force) as writer:
        for part in parts:
            with tarfile.open(part, "r:gz") as tf:
                for member in tf:
                    if not member.isfile():
                        continue
                    rel = member.name.split("/", 1)[1]
                    f = tf.extractfile(member)
                    assert f is not None
                    if rel == MANIFEST_NAME:
                        manifests.append(orjson.loads(f.read()))
                    elif rel != REDACTION_NAME:
                        writer.add_stream(rel, iter(lambda: f.read(1 << 20), b""))
        first = manifests[0]
        manifest = {**first,
                    "created_at": min(m["created_at"] for m in manifests),
                    "finished_at": max(m["finished_at"] for m in manifests),
                    "partial": any(m.get("partial") for m in manifests),
                    "partial_reason": next((m["partial_reason"] for m in manifests if m.get("partial_reason")), None),
                    "nodes": [n for m in manifests for n in m["nodes"]],
                    "items": [i for m in manifests for i in m["items"]]}
        if failed_hosts:
            manifest["failed_hosts"] = failed_hosts
        writer.finish(manifest, redaction)
    return output
