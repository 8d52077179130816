"""One BundleWriter fed by many threads and by several engines at once (collector/fanout.py's
design): every member intact, one Redactor's placeholders the same on every node, and
Engine.collect_into leaving the writer and the manifest to its caller."""
from __future__ import annotations

import hashlib
import datetime as dt
import os
import random
import tarfile
import threading
from pathlib import Path

from collect_helpers import read_bundle, simnode
from k8s_bundle.bundle.writer import BundleWriter
from k8s_bundle.collector.runner import CollectOptions, Engine
from k8s_bundle.collector.linux import catalogue
from k8s_bundle.collector.transports.local import LocalTransport
from k8s_bundle.redact import Redactor


def test_add_stream_from_many_threads_keeps_every_member_whole(tmp_path: Path) -> None:
    out = tmp_path / "b.tgz"
    stored: dict[str, str] = {}
    lock = threading.Lock()
    # 64 KiB spool: the larger members spill to the temporary file while others stay in memory
    with BundleWriter(out, top_dir="t", spool_bytes=64 * 1024) as writer:
        def work(n: int) -> None:
            rnd = random.Random(n)
            for i in range(12):
                size = rnd.choice((0, 1, 4096, 70_000, 300_000))
                chunks = [os.urandom(min(8192, size - o)) for o in range(0, size, 8192)]
                m = writer.add_stream(f"nodes/n{n}/f{i}", iter(chunks))
                with lock:
                    stored[m.path] = m.sha256
                assert m.sha256 == hashlib.sha256(b"".join(chunks)).hexdigest() and m.bytes == size
        threads = [threading.Thread(target=work, args=(n,)) for n in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        writer.finish({"nodes": []})
    with tarfile.open(out, "r:gz") as tf:
        got = {m.name.split("/", 1)[1]: hashlib.sha256(tf.extractfile(m).read()).hexdigest()
               for m in tf if m.isfile() and not m.name.endswith("manifest.json")}
    assert got == stored and len(got) == 24 * 12


def test_claim_reserves_a_bundle_level_member_for_one_owner(tmp_path: Path) -> None:
    with BundleWriter(tmp_path / "b.tgz", top_dir="t") as writer:
        assert writer.claim("cluster/nodes.json", "n1") == "n1"
        assert writer.claim("cluster/nodes.json", "n2") == "n1"
        assert writer.claim("cluster/nodes.json", "n1") == "n1"     # its holder keeps it
        writer.add_bytes("cluster/pods.json", b"{}")
        assert writer.claim("cluster/pods.json", "n1") == ""       # stored already: nobody may
        writer.abort()


def test_two_engines_one_writer_one_redactor(tmp_path: Path) -> None:
    # one tree for both (each build makes its own certificates): the same files on two nodes
    roots = [simnode.build(tmp_path / "sim")] * 2
    redactor = Redactor()
    out = tmp_path / "b.tgz"
    records: dict[str, list[dict]] = {}
    with BundleWriter(out, top_dir="k8s-bundle-multi-x") as writer:
        engines = []
        for name, node in zip(("alpha", "beta"), roots):
            t = LocalTransport(str(node.root), live=False)
            t.hostname = name      # as a remote transport reports the node's name
            e = Engine(CollectOptions(root=str(node.root), live=False, workers=4,
                                      only=frozenset({"kubernetes", "certificates"})), t, None, redactor)
            engines.append(e)

        def run(e: Engine) -> None:
            records[e.node] = e.collect_into(writer, list(catalogue(e.ctx)))
        threads = [threading.Thread(target=run, args=(e,)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        now = dt.datetime.now(dt.timezone.utc)
        manifest = engines[0]._manifest(now, now, records["alpha"] + records["beta"])
        manifest.nodes = [e.node_entry() for e in engines]
        writer.finish(manifest, redactor.report())
    b = read_bundle(out)
    assert [n["name"] for n in b.manifest["nodes"]] == ["alpha", "beta"]
    alpha = {k.split("/", 2)[2]: v for k, v in b.members.items() if k.startswith("nodes/alpha/")}
    beta = {k.split("/", 2)[2]: v for k, v in b.members.items() if k.startswith("nodes/beta/")}
    assert alpha and set(alpha) == set(beta)
    # the same files on both nodes: the same redacted bytes, placeholders included
    redacted = [k for k, v in alpha.items() if b"<redacted:" in v]
    assert redacted, "the simulated node has secrets in its kubernetes files"
    assert all(alpha[k] == beta[k] for k in alpha)
    # the engines did not finish or own the writer: one manifest, both nodes' records in it
    assert {r["node"] for r in b.manifest["items"]} == {"alpha", "beta"}
    assert all(r["path"] in b.members for r in b.manifest["items"] if r["path"])
    assert b.json("redaction.json")["total"] > 0
