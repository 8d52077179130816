"""k8s-bundle: offline support bundles for Kubernetes nodes."""

__version__ = "0.1.0"
# Version of the bundle contract in docs/bundle-format.md. Bump the minor number for additions
# the analyzer may ignore, the major number for changes an older analyzer cannot read.
FORMAT_VERSION = "1.0"
