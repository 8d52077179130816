"""The bundle: the one contract between the collector and the analyzer (docs/bundle-format.md).

- layout.py: format version, member names, node naming, safe member paths
- specs.py: one named entry per stored artifact (who produces it, who reads it)
- manifest.py: the manifest as typed records (manifest, node, item)
- writer.py: the one way a bundle is written (collector, redact, samples, fixtures)
- reader.py: the one way a bundle is read, hostile input expected (analyze, redact, verify)
- problems.py: what is wrong with the input itself (a refused member, a cap reached)

This package imports nothing from collector/, redact/ or analyzer/: they import it.
"""
