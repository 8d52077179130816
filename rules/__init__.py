"""k8s_bundle.rules (see docs/architecture.md)."""
