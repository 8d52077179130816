"""`k8s-bundle collect` on this Windows machine (remote Windows hosts: collector/remote.py)."""
from __future__ import annotations

from typing import Any


def collect_windows(args: Any, opts: Any, progress: Any, redactor: Any = None) -> list[Any]:
    """Collect this Windows machine with the local PowerShell transport."""
    if redactor is None:
        from k8s_bundle.redact import Redactor

        redactor = Redactor()
    from k8s_bundle.collector.runner import Engine, lower_priority
    from k8s_bundle.collector.transports.powershell import PowerShellTransport
    from k8s_bundle.collector.windows import catalogue

    lower_priority()
    engine = Engine(opts, PowerShellTransport(), progress, redactor)
    return [engine.run(catalogue(engine.ctx))]
