"""``python -m gradient_desktop``: the same entry point as the ``gradient-desktop`` command."""

from gradient_desktop.cli import main

raise SystemExit(main())
