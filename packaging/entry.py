"""Entry script of the frozen binary: the same `main` as the `k8s-bundle` console script."""
import multiprocessing
import os
import sys

from k8s_bundle.cli import main


def give_children_the_callers_environment() -> None:
    """Undo what PyInstaller's bootloader changed in the environment, for the node's own tools.

    The one-file bootloader prepends its unpack directory to LD_LIBRARY_PATH (keeping the
    caller's value in LD_LIBRARY_PATH_ORIG) and sets private _PYI_* variables. Every command
    the collector runs inherits os.environ, so journalctl, iptables-save or docker would load
    the binary's libssl, liblzma, libz... instead of their own (staticx issue 239), and a
    PyInstaller-built tool on the node would mistake our unpack directory for its own. This
    process does not need them any more: the dynamic loader read LD_LIBRARY_PATH when it started.
    """
    if not getattr(sys, "frozen", False):
        return
    original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if original is None:
        os.environ.pop("LD_LIBRARY_PATH", None)
    else:
        os.environ["LD_LIBRARY_PATH"] = original
    for name in [n for n in os.environ if n.startswith("_PYI_")]:
        del os.environ[name]


if __name__ == "__main__":
    # A frozen Windows executable re-runs itself for every child process that multiprocessing
    # spawns; freeze_support() turns those runs into workers instead of new CLI invocations.
    multiprocessing.freeze_support()
    give_children_the_callers_environment()
    sys.exit(main())
