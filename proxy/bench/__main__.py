"""``python -m proxy.bench [NAME ...]``: run the benchmarks and print one JSON document."""

from __future__ import annotations

import argparse
import importlib
import json
import sys

from proxy.bench import BENCHMARKS
from proxy.hash_backend import prefer_pysha3


def main() -> int:
    """Run the selected benchmarks (default: all) and print their results as JSON on stdout."""
    prefer_pysha3()  # the keccak backend the daemon runs with (``wcproxy`` selects it the same way)
    parser = argparse.ArgumentParser(prog="python -m proxy.bench")
    parser.add_argument("names", nargs="*", help="benchmark names (module basenames); default: all")
    args = parser.parse_args()
    selected = [m for m in BENCHMARKS if not args.names or m.rsplit(".", 1)[-1] in args.names]
    results: dict[str, object] = {}
    for name in selected:
        module = importlib.import_module(name)
        results[name.rsplit(".", 1)[-1]] = module.run()
        sys.stderr.write(f"bench {name}: done\n")
    json.dump(results, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
