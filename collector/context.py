"""What catalogue functions and derived items see of a run: the transport, the node, the
options, and a small shared store for late items (node.json reads the binaries' versions)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from k8s_bundle.collector.transports.base import Interrupted, NotSupported


@dataclass
class Context:
    transport: Any                  # a Transport (collector/transports/base.py)
    node: str
    since: str
    is_root: bool
    timeout: float
    cap: int
    stop: threading.Event = field(default_factory=threading.Event)
    shared: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def root(self) -> str:
        return self.transport.root

    @property
    def live(self) -> bool:
        return self.transport.live

    def read_text(self, path: str, cap: int = 1 << 20) -> str | None:
        """A small file as text, or None when it cannot be read (derived items only: the
        result still goes through the redactor before it is stored)."""
        try:
            return self.transport.read_small(path, cap).decode("utf-8", "replace")
        except OSError:
            return None

    def run_text(self, argv: list[str], timeout: float | None = None,
                 cap: int = 1 << 20) -> tuple[int | None, str]:
        """Run a short command for a derived item: (exit code or None, stdout text)."""
        try:
            stream = self.transport.run(argv, timeout=timeout or self.timeout, cap=cap,
                                        stop=self.stop)
            out = b"".join(stream)
        except (NotSupported, Interrupted):
            return None, ""
        if stream.not_found or stream.timed_out:
            return None, out.decode("utf-8", "replace")
        return stream.exit_code, out.decode("utf-8", "replace")

    def memo(self, key: str, compute: Any) -> Any:
        """Compute a shared value once per run (e.g. the working kubeconfig)."""
        with self.lock:
            if key in self.shared:
                return self.shared[key]
            lock = self.shared.setdefault(f"{key}.lock", threading.Lock())
        with lock:
            if key not in self.shared:
                self.shared[key] = compute()
            return self.shared[key]
