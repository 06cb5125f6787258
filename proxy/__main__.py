"""``python -m proxy``: the wcproxy command line."""

from proxy.cli import main

raise SystemExit(main())
