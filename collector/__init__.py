"""k8s_bundle.collector (see docs/architecture.md)."""
