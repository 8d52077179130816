"""`k8s-bundle collect` on this Windows machine (remote Windows hosts: collector/remote.py)."""
from __future__ import annotations

import os
from typing import Any


def collect_windows(args: Any, opts: Any, progress: Any, redactor: Any = None) -> list[Any]:
    """Collect this Windows machine with the local PowerShell transport."""
    if redactor is None:
        from k8s_bundle.redact import Redactor

        redactor = Redactor()
    from k8s_bundle.collector.runner import Engine
    from k8s_bundle.collector.transports.powershell import PowerShellTransport
    from k8s_bundle.collector.windows import catalogue

    lower_priority_any_os()
    engine = Engine(opts, PowerShellTransport(), progress, redactor)
    return [engine.run(catalogue(engine.ctx))]


def lower_priority_any_os() -> None:
    """Never harm the node: below-normal priority. os.nice exists on POSIX only (there:
    runner.lower_priority, nice and idle I/O); on Windows psutil's priority class."""
    if hasattr(os, "nice"):
        from k8s_bundle.collector.runner import lower_priority

        lower_priority()
        return
    try:
        import psutil

        psutil.Process().nice(psutil.BELOW_NORMAL_PRIORITY_CLASS)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - priority is best effort
        pass
