"""Atomic output: write to a temporary sibling, then ``os.replace`` it into place."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from vecae.io._errors import OutputExistsError, input_error

__all__ = ["AtomicOutput"]


class AtomicOutput:
    """A temporary file beside ``path`` that becomes ``path`` on :meth:`commit`.

    The temporary lives in the same directory so that ``os.replace`` is a rename on one
    file system, which is atomic: readers see either the old file or the complete new one.
    Extra scratch files (see :meth:`scratch`) live there too and are always removed.

    Parameters
    ----------
    path
        The final output path.
    overwrite
        Replace an existing file. Without it an existing ``path`` raises
        :class:`~vecae.io.OutputExistsError`.
    """

    def __init__(self, path: str | os.PathLike[str], *, overwrite: bool) -> None:
        self.path = Path(path)
        self.source = str(path)
        self.check(self.path, self.source, overwrite=overwrite)
        self._scratch: list[Path] = []
        self.temp = self.scratch(".tmp")
        self._done = False

    @staticmethod
    def check(path: Path, source: str, *, overwrite: bool) -> None:
        """Raise if ``path`` cannot be written: it is a directory, or exists without overwrite."""
        if path.is_dir():
            raise input_error(source, None, "output path is a directory")
        if path.exists() and not overwrite:
            raise OutputExistsError(
                f"{source}: output file already exists; pass overwrite=True to replace it"
            )

    def scratch(self, suffix: str) -> Path:
        """Create and register an empty scratch file beside the output; removed at the end."""
        try:
            fd, name = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=suffix, dir=self.path.parent or "."
            )
        except OSError as exc:
            raise input_error(
                self.source, None, f"cannot create a file in the output directory ({exc.strerror})"
            ) from exc
        os.close(fd)
        scratch = Path(name)
        self._scratch.append(scratch)
        return scratch

    def commit(self) -> None:
        """Move the finished temporary file into place and remove the scratch files."""
        os.replace(self.temp, self.path)
        self._done = True
        self._cleanup()

    def abort(self) -> None:
        """Remove the temporary and scratch files; the output path is left untouched."""
        self._done = True
        self._cleanup()

    def _cleanup(self) -> None:
        for scratch in self._scratch:
            with contextlib.suppress(FileNotFoundError):
                scratch.unlink()
        self._scratch.clear()
