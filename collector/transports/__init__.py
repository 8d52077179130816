"""Transports: how the engine runs a command or reads a file on a node (docs/collector.md)."""
