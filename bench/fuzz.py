"""Coverage-guided fuzzing (atheris) of the three parsers that read what an attacker controls.

    pip install atheris                       # not a dependency: run on demand
    python3 bench/fuzz.py reader   -atheris_runs=20000
    python3 bench/fuzz.py logindex -max_total_time=120
    python3 bench/fuzz.py redact   -max_total_time=120 -max_len=65536

Targets:
  reader    bytes -> a file -> `open_bundle` -> every member read. Allowed outcome: members
            and problems, or `UserError` (the one-line exit 4). Anything else is a bug.
  logindex  bytes -> one log file of one node -> `build_log_index`. Must not raise; the index
            never holds more rows than the input has lines.
  redact    bytes -> `Redactor.redact_bytes` under several file names (a YAML config, a log, a
            kubeconfig). Must not raise; a fresh secret planted in the input never survives.

The corpus is seeded with the small hostile bundles of tests/hostile/cases.py (those under
`--seed-max` bytes), the members of samples/*.tgz for the log and redaction targets, and is kept
under bench/out/fuzz/<target>/ between runs. Any further argument goes to libFuzzer.
"""
from __future__ import annotations

import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out" / "fuzz"
SEED_MAX = 256 * 1024

try:
    import atheris
except ImportError:  # pragma: no cover - on-demand tool
    sys.exit("bench/fuzz.py: needs atheris (pip install atheris)")

with atheris.instrument_imports(include=["k8s_bundle"]):
    from k8s_bundle.analyzer.logindex import build_log_index
    from k8s_bundle.bundle.reader import open_bundle
    from k8s_bundle.errors import UserError
    from k8s_bundle.redact.redactor import Redactor

_TMP = Path(tempfile.mkdtemp(prefix="k8s-bundle-fuzz-"))
_REDACTOR: Redactor | None = None
PLANTED = b"password: Zq8vN3xLr5Tw1Ky7\n"


def fuzz_reader(data: bytes) -> None:
    path = _TMP / "input.tgz"
    path.write_bytes(data)
    try:
        with open_bundle(path) as reader:
            for member in reader:
                for _ in member.chunks(64 * 1024):
                    pass
    except UserError:
        pass


def fuzz_logindex(data: bytes) -> None:
    frame = build_log_index([("n1", "journal/kubelet.log", data)])
    # a file whose first text ends lines with CR alone has its CRs read as line ends (logindex)
    ends = data.count(b"\n") + data.count(b"\r")
    assert frame.height <= ends + 1, (frame.height, ends)


def fuzz_redact(data: bytes) -> None:
    global _REDACTOR
    _REDACTOR = _REDACTOR or Redactor()
    for name in ("nodes/n1/files/etc/app/values.yaml", "nodes/n1/logs/journal/kubelet.log",
                 "nodes/n1/files/etc/kubernetes/admin.conf"):
        out = _REDACTOR.redact_bytes(name, data + b"\n" + PLANTED)
        assert b"Zq8vN3xLr5Tw1Ky7" not in out, name


TARGETS = {"reader": fuzz_reader, "logindex": fuzz_logindex, "redact": fuzz_redact}


def seed(target: str, corpus: Path) -> None:
    """Write the seeds once: small hostile bundles, or the members of the samples."""
    corpus.mkdir(parents=True, exist_ok=True)
    if any(corpus.iterdir()):
        return
    if target == "reader":
        from tests.hostile.cases import CASES
        for case in CASES:
            work = Path(tempfile.mkdtemp(dir=_TMP))
            try:
                bundle = case.build(work)
            except OSError:
                continue
            if bundle.is_file() and bundle.stat().st_size <= SEED_MAX:
                (corpus / case.name).write_bytes(bundle.read_bytes())
        return
    for sample in sorted((ROOT / "samples").glob("*.tgz")):
        with tarfile.open(sample) as tar:
            for info in tar:
                if info.isfile() and 0 < info.size <= SEED_MAX and ("/logs/" in info.name or target == "redact"):
                    data = tar.extractfile(info).read()  # type: ignore[union-attr]
                    (corpus / f"{sample.stem}-{info.name.replace('/', '_')[-120:]}").write_bytes(data)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: bench/fuzz.py {{{','.join(TARGETS)}}} [libFuzzer options]")
    target = sys.argv[1]
    corpus = OUT / target
    seed(target, corpus)
    atheris.Setup([sys.argv[0], str(corpus), *sys.argv[2:]], TARGETS[target])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
