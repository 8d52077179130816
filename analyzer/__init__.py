"""k8s_bundle.analyzer (see docs/architecture.md)."""
