"""Package layout only (metadata lives in pyproject.toml).

One import root, ``k8s_bundle``, so nothing generic such as ``collector`` or ``rules`` is
installed into site-packages; the top-level folders the design names are mapped beneath it:
collector/ -> k8s_bundle.collector, analyzer/ -> k8s_bundle.analyzer, and so on.
"""
from setuptools import find_namespace_packages, setup

MAPPED_FOLDERS = ["collector", "analyzer", "redact", "rules", "report_templates", "serve"]

packages = ["k8s_bundle"] + [f"k8s_bundle.{p}" for p in find_namespace_packages("k8s_bundle")]
package_dir = {"k8s_bundle": "k8s_bundle"}
for folder in MAPPED_FOLDERS:
    packages.append(f"k8s_bundle.{folder}")
    package_dir[f"k8s_bundle.{folder}"] = folder
    packages += [f"k8s_bundle.{folder}.{p}" for p in find_namespace_packages(folder) if "__pycache__" not in p]

setup(packages=packages, package_dir=package_dir)
