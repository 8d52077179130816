"""Entry script of the frozen binary: the same `main` as the `k8s-bundle` console script."""
import multiprocessing
import sys

from k8s_bundle.cli import main

if __name__ == "__main__":
    # A frozen Windows executable re-runs itself for every child process that multiprocessing
    # spawns; freeze_support() turns those runs into workers instead of new CLI invocations.
    multiprocessing.freeze_support()
    sys.exit(main())
