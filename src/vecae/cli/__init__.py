"""The ``vecae`` command line: a thin layer that parses, calls the library, and prints.

The library never imports this package. typer and rich are the optional extra ``cli``; when
they are missing, :func:`main` says what to install instead of failing with a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

INSTALL_HINT = "vecae's command line needs: pip install 'vecae[cli]'"


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``vecae`` with ``argv`` (default: ``sys.argv[1:]``) and exit with its status."""
    try:
        import rich  # noqa: F401
        import typer  # noqa: F401
    except ImportError:
        print(INSTALL_HINT, file=sys.stderr)
        raise SystemExit(1) from None

    from vecae.cli._app import app

    args = list(sys.argv[1:] if argv is None else argv)
    app(args=args, prog_name="vecae")
