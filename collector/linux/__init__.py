"""The Linux catalogue: one module per area, each declaring its items (docs/collector.md)."""
from __future__ import annotations

from k8s_bundle.collector.context import Context
from k8s_bundle.collector.items import Item
from k8s_bundle.collector.linux import (binaries, certificates, cluster, kubernetes, logs,
                                        network, runtime, system)

MODULES = (system, binaries, logs, runtime, kubernetes, certificates, network, cluster)
AREAS = tuple(m.AREA for m in MODULES)


def catalogue(ctx: Context) -> list[Item]:
    out: list[Item] = []
    for module in MODULES:
        out.extend(module.items(ctx))
    return out
