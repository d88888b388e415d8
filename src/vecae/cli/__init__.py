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

    from typer import Abort
    from typer._click.exceptions import ClickException  # typer vendors click since 0.29

    from vecae.cli._app import app

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        # standalone_mode=False: usage errors come back to us instead of being drawn as a
        # boxed panel with exit status 2; every error is one line and exit status 1.
        status = app(args=args, prog_name="vecae", standalone_mode=False)
    except ClickException as exc:
        context = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and context is not None:
            print(context.get_help(), file=sys.stderr)
            raise SystemExit(2) from None
        command = context.command_path if context is not None else "vecae"
        message = " ".join(exc.format_message().split())
        print(f"error: {message} (see '{command} --help')", file=sys.stderr)
        raise SystemExit(1) from None
    except Abort:
        print("error: aborted", file=sys.stderr)
        raise SystemExit(1) from None
    raise SystemExit(status if isinstance(status, int) else 0)
