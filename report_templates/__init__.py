"""k8s_bundle.report_templates (see docs/architecture.md)."""
