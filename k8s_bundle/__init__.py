"""k8s-bundle: offline support bundles for Kubernetes nodes."""

__version__ = "0.1.0"
