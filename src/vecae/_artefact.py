"""The one artefact layer: how vecae writes, replaces and reads back everything it produces.

Every output vecae writes goes through this module: model, index and recommender directories,
encoded embedding files, tables, reports and exported networks. The guarantees are:

* **Atomic.** An output is built under a hidden staging name beside its destination
  (``.NAME.vecae-tmp-<pid>-<token>``, on the same file system) and appears under its real
  name in one ``rename``. A reader never sees a half-written file or directory.
* **Never neither.** Replacing an existing directory uses Linux's
  ``renameat2(RENAME_EXCHANGE)``, which swaps the new and the old directory in one step, so
  the destination always names a complete artefact. Where the kernel or file system lacks it,
  the fallback takes two renames; :func:`read_with_retry` makes readers wait out that gap (and
  a swap in the middle of a read), so a concurrent ``vecae.load`` sees the old model or the
  new one. A versioned subdirectory plus a symlink swap would also do this, but it would make
  a model directory something other than a plain directory: ``cp -r`` and ``rsync`` of a
  model would copy a dangling link.
* **Claimed first.** Before any work, a writer takes an exclusive ``flock`` on
  ``.NAME.vecae-lock`` beside the destination. A second writer of the same destination is
  refused at once ("another process is writing it"), an unwritable destination is found
  before training starts, and the "does it exist already?" check is made while holding the
  claim, so two writers without ``overwrite`` cannot both win. The kernel drops the lock when
  its process dies, even by SIGKILL, so a claim is never stale; staging names left behind by
  a killed writer are removed by the next writer of the same destination.
* **Only ours is replaced.** ``overwrite`` replaces a directory only if it is a vecae
  artefact of the same kind (its ``config.json`` says so), and a file only if it is a regular
  file. Symbolic links, other directories and the command's own inputs are refused with one
  line that says why. Nothing else is ever deleted.
* **Checked on load.** A directory's ``config.json`` is its manifest: ``format`` (the kind),
  ``format_version`` and the SHA-256 of every data file, verified before the file is parsed.
  One version policy for every kind: newer versions are refused ("upgrade vecae"), versions
  older than the oldest one this release reads are refused ("re-create it").
* **Modes follow the umask**, like any other tool's output: files are created ``0o666`` and
  directories ``0o777``, less the umask.
* **Strict JSON.** Manifests never contain bare ``NaN``/``Infinity`` (they become ``null``).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import math
import os
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar

from vecae._exceptions import InputError, ModelFileError, OutputExistsError

__all__ = [
    "DETECTOR",
    "INDEX",
    "MANIFEST",
    "MODEL",
    "RECOMMENDER",
    "FileOutput",
    "checked_file",
    "claim",
    "dumps_json",
    "read_manifest",
    "read_with_retry",
    "sha256_file",
    "write_directory",
    "write_manifest",
]

MODEL: Final = "vecae-model"
INDEX: Final = "vecae-index"
RECOMMENDER: Final = "vecae-recommender"
DETECTOR: Final = "vecae-detector"
MANIFEST: Final = "config.json"

_DESCRIPTIONS: Final = {
    MODEL: "model",
    INDEX: "index",
    RECOMMENDER: "recommender",
    DETECTOR: "detector",
}
_TMP_TAG: Final = ".vecae-tmp-"
_LOCK_TAG: Final = ".vecae-lock"
# A manifest holds hyper-parameters, histories and category lists, never tensors; a larger
# config.json is not one of ours and is refused before it is parsed.
MAX_MANIFEST_BYTES: Final = 64 << 20

T = TypeVar("T")


# -- modes ----------------------------------------------------------------------------------


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: the classic set-and-restore
    os.umask(mask)
    return mask


# -- hashing and strict JSON ------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks (model files can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def dumps_json(value: Any, *, indent: int | None = 2) -> str:
    """Strict JSON: non-finite floats become ``null`` (strict parsers reject bare ``NaN``)."""
    return json.dumps(_finite(value), indent=indent, allow_nan=False, ensure_ascii=False)


# -- claims -----------------------------------------------------------------------------------


class _Claims:
    """The destinations this process has claimed: a nested claim of the same path re-enters."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.held: dict[Path, list[int]] = {}  # path -> [fd, depth]


_CLAIMS = _Claims()


def _absolute(path: str | os.PathLike[str]) -> Path:
    # abspath, not resolve(): a symlink at the destination must be seen, not followed.
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def _lock_path(target: Path) -> Path:
    return target.with_name(f".{target.name}{_LOCK_TAG}")


def _unwritable(source: str, where: Path, exc: OSError) -> InputError:
    reason = (exc.strerror or type(exc).__name__).lower()
    return InputError(f"{source}: cannot write in the output directory {where} ({reason})")


def _remove_stale(target: Path) -> None:
    """Remove staging names of ``target`` left by writers that died (we hold the claim)."""
    prefix = f".{target.name}{_TMP_TAG}"
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            if entry.name.startswith(prefix):
                _remove(Path(entry.path))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _acquire(target: Path, source: str, *, make_parents: bool) -> int:
    if make_parents:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _unwritable(source, target.parent, exc) from exc
    lock = _lock_path(target)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: an exclusive create is the claim
        try:
            return os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            raise OutputExistsError(
                f"{source}: another process is writing this output (or left {lock.name})"
            ) from None
        except OSError as exc:
            raise _unwritable(source, target.parent, exc) from exc
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise _unwritable(source, target.parent, exc) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputExistsError(
                f"{source}: another process is writing this output right now"
            ) from None
        # The previous owner may have unlinked the lock file between our open and our flock;
        # then we hold a lock on a deleted inode and must take the new file instead.
        try:
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


@contextlib.contextmanager
def claim(
    path: str | os.PathLike[str], *, source: str | None = None, make_parents: bool = True
) -> Iterator[Path]:
    """Hold the exclusive claim on destination ``path`` for the duration of the block.

    Claims are re-entrant within a process, so a command can claim its output before
    training and the library's ``save`` can claim it again to write it. Missing parent
    directories are created when ``make_parents`` (directory artefacts do this; a file output
    in a directory that does not exist is refused, as a typo is the likelier cause).

    Raises
    ------
    OutputExistsError
        Another process holds the claim (it is writing the same destination).
    InputError
        The destination's directory cannot be created or written.
    """
    target = _absolute(path)
    label = source or str(path)
    if not target.name:
        raise InputError(f"{label}: the file-system root cannot be an output")
    with _CLAIMS.lock:
        held = _CLAIMS.held.get(target)
        if held is not None:
            held[1] += 1
        else:
            fd = _acquire(target, label, make_parents=make_parents)
            _CLAIMS.held[target] = [fd, 1]
            _remove_stale(target)
    try:
        yield target
    finally:
        with _CLAIMS.lock:
            entry = _CLAIMS.held[target]
            entry[1] -= 1
            if entry[1] == 0:
                del _CLAIMS.held[target]
                with contextlib.suppress(FileNotFoundError):
                    _lock_path(target).unlink()
                os.close(entry[0])


# -- what may be replaced ---------------------------------------------------------------------


def _same_or_inside(a: Path, b: Path) -> bool:
    """Whether ``a`` is ``b`` or lies inside directory ``b`` (following links)."""
    try:
        real_a, real_b = Path(os.path.realpath(a)), Path(os.path.realpath(b))
    except OSError:
        return False
    return real_a == real_b or real_b in real_a.parents


def _manifest_of(path: Path) -> dict[str, Any] | None:
    """``path/config.json`` parsed, or ``None`` if it is missing, oversized or not JSON."""
    manifest = path / MANIFEST
    try:
        if not manifest.is_file() or manifest.stat().st_size > MAX_MANIFEST_BYTES:
            return None
        config = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return config if isinstance(config, dict) else None


def manifest_kind(path: Path) -> str | None:
    """The ``format`` recorded in ``path/config.json``, or ``None`` if it is not ours."""
    kind = (_manifest_of(path) or {}).get("format")
    return kind if isinstance(kind, str) else None


def check_destination(
    target: Path,
    *,
    kind: str | None,
    overwrite: bool,
    inputs: Iterable[str | os.PathLike[str]] = (),
    source: str | None = None,
) -> None:
    """Raise unless writing ``target`` is allowed; never touches anything.

    Parameters
    ----------
    target
        The destination (absolute).
    kind
        The artefact kind to be written there (:data:`MODEL`, :data:`INDEX`,
        :data:`RECOMMENDER`), or ``None`` for a plain file.
    overwrite
        Whether an existing destination may be replaced. Even then, only a vecae artefact of
        the same kind (or, for a plain file, a regular file) is replaced.
    inputs
        Paths the command reads: the output may be none of them, nor contain one.
    """
    label = source or str(target)
    for given in inputs:
        path = Path(given)
        if os.path.lexists(path) and _same_or_inside(path, target):
            problem = "is the input" if _same_or_inside(target, path) else "contains the input"
            raise OutputExistsError(f"{label}: the output {problem} {given}; choose another path")
    if not os.path.lexists(target):
        return
    what = f"{_DESCRIPTIONS.get(kind, kind)} directory" if kind else "output"
    if not overwrite:
        raise OutputExistsError(
            f"{label}: {what} already exists; pass --overwrite (overwrite=True) to replace it"
        )
    if target.is_symlink():
        raise OutputExistsError(
            f"{label}: is a symbolic link; vecae replaces only its own artefacts, not links"
        )
    if kind is None:
        if not target.is_file():
            kind_of = "a directory" if target.is_dir() else "not a regular file"
            raise OutputExistsError(
                f"{label}: is {kind_of}; --overwrite replaces only a regular file"
            )
        return
    if not target.is_dir():
        raise OutputExistsError(f"{label}: is a file, not a vecae {what}; refusing to replace it")
    manifest = _manifest_of(target) or {}
    found = manifest.get("format") if isinstance(manifest.get("format"), str) else None
    if found != kind:
        found_text = f"it holds a {found} artefact" if found else "it has no vecae config.json"
        raise OutputExistsError(
            f"{label}: is not a vecae {what} ({found_text}); --overwrite replaces only "
            f"a vecae {what}"
        )
    foreign = _foreign_entries(target, manifest)
    if foreign:
        raise OutputExistsError(
            f"{label}: also holds files vecae did not write ({', '.join(foreign[:3])}); "
            "move them out before replacing it"
        )


def _foreign_entries(root: Path, manifest: dict[str, Any]) -> list[str]:
    """Entries of artefact ``root`` that its (already parsed) manifest does not account for."""
    files = manifest.get("files")
    ours = {MANIFEST, *(files if isinstance(files, dict) else {})}
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return []
    # A nested artefact (a recommender's model/, a detector's member-0/) is ours too.
    return [
        name
        for name in entries
        if name not in ours and not ((root / name).is_dir() and manifest_kind(root / name))
    ]


# -- atomic renames ---------------------------------------------------------------------------

_RENAME_NOREPLACE: Final = 1
_RENAME_EXCHANGE: Final = 2
_AT_FDCWD: Final = -100


def _renameat2(source: Path, destination: Path, flags: int) -> bool:
    """``renameat2`` with ``flags``; ``False`` where the OS or file system lacks it."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = function(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(destination), flags)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(destination))


def _move_into_place(staging: Path, target: Path, *, is_dir: bool, replace: bool) -> None:
    """Make ``staging`` appear as ``target``; with ``replace``, swap out an existing one."""
    if replace and os.path.lexists(target):
        if is_dir:
            if _renameat2(staging, target, _RENAME_EXCHANGE):
                _remove(staging)  # staging now holds the previous artefact
                return
            # Two renames: readers bridge the gap with read_with_retry.
            old = target.with_name(f".{target.name}{_TMP_TAG}{os.getpid()}-old")
            os.rename(target, old)
            os.rename(staging, target)
            _remove(old)
            return
        os.replace(staging, target)
        return
    if _renameat2(staging, target, _RENAME_NOREPLACE):
        return
    if is_dir:
        os.rename(staging, target)  # fails on a non-empty directory that appeared meanwhile
        return
    os.link(staging, target)  # fails if target appeared meanwhile: no silent replace
    os.unlink(staging)


def _finish(root: Path) -> None:
    """Give everything under ``root`` the umask's modes and flush files to disk, in one walk.

    Some writers (safetensors, FAISS, tempfile) create files ``0o600`` whatever the umask;
    an artefact shared with a service or a colleague must get the same modes as any other
    file the user creates.
    """
    mask = current_umask()
    for path in [root, *root.rglob("*")] if root.is_dir() else [root]:
        if path.is_symlink():
            continue
        is_dir = path.is_dir()
        with contextlib.suppress(OSError):
            os.chmod(path, (0o777 if is_dir else 0o666) & ~mask)
            if not is_dir:
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)


def _staging_name(target: Path, suffix: str = "") -> Path:
    token = secrets.token_hex(4)
    return target.with_name(f".{target.name}{_TMP_TAG}{os.getpid()}-{token}{suffix}")


# -- directories ------------------------------------------------------------------------------


@contextlib.contextmanager
def write_directory(
    path: str | os.PathLike[str],
    kind: str,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
    source: str | None = None,
) -> Iterator[Path]:
    """Yield an empty staging directory that becomes ``path`` when the block succeeds.

    The destination is claimed and checked (:func:`check_destination`) first, so nothing is
    computed for an output that cannot be written. On any error, or a signal that unwinds
    the stack, the staging directory is removed and ``path`` is left as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with write_directory(root / "m", MODEL) as staging:
    ...     _ = write_manifest(staging, {"format": MODEL, "format_version": 1}, files=())
    >>> sorted(p.name for p in (root / "m").iterdir())
    ['config.json']
    """
    inputs = list(inputs)
    label = source or str(path)
    with claim(path, source=label) as target:
        check_destination(target, kind=kind, overwrite=overwrite, inputs=inputs, source=label)
        staging = _staging_name(target)
        try:
            os.mkdir(staging, 0o777)
        except OSError as exc:
            raise _unwritable(label, target.parent, exc) from exc
        try:
            yield staging
            _finish(staging)
            # Check again: something that is not ours may have appeared while we worked.
            check_destination(target, kind=kind, overwrite=overwrite, source=label)
            _move_into_place(staging, target, is_dir=True, replace=overwrite)
        finally:
            if os.path.lexists(staging):
                _remove(staging)


# -- files ------------------------------------------------------------------------------------


class FileOutput:
    """A claimed temporary file beside ``path`` that becomes ``path`` on :meth:`commit`.

    Parameters
    ----------
    path
        The final output path.
    overwrite
        Replace an existing regular file. Without it, an existing ``path`` raises
        :class:`~vecae.OutputExistsError`.
    inputs
        Paths being read: the output may not be one of them.

    Attributes
    ----------
    temp : Path
        Write the output here; it is renamed to ``path`` by :meth:`commit`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "codes.csv"
    >>> with FileOutput(out) as output:
    ...     _ = output.temp.write_text("a,1\\n")
    >>> out.read_text()
    'a,1\\n'
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        inputs: Iterable[str | os.PathLike[str]] = (),
    ) -> None:
        self.source = str(path)
        self.overwrite = overwrite
        self._claim = claim(path, source=self.source, make_parents=False)
        self.path = self._claim.__enter__()
        self._scratch: list[Path] = []
        self._open = True
        try:
            check_destination(
                self.path, kind=None, overwrite=overwrite, inputs=inputs, source=self.source
            )
            self.temp = self.scratch(".tmp")
        except BaseException:
            self._release()
            raise

    def scratch(self, suffix: str) -> Path:
        """Create and register an empty scratch file beside the output; removed at the end."""
        name = _staging_name(self.path, suffix)
        try:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except OSError as exc:
            raise _unwritable(self.source, self.path.parent, exc) from exc
        self._scratch.append(name)
        return name

    def commit(self) -> None:
        """Move the finished temporary file into place and remove the scratch files."""
        try:
            _finish(self.temp)
            check_destination(self.path, kind=None, overwrite=self.overwrite, source=self.source)
            _move_into_place(self.temp, self.path, is_dir=False, replace=self.overwrite)
        except FileExistsError:
            raise OutputExistsError(
                f"{self.source}: output file appeared while vecae was writing it; not replaced"
            ) from None
        finally:
            self._release()

    def abort(self) -> None:
        """Remove the temporary and scratch files; the output path is left untouched."""
        self._release()

    def __enter__(self) -> FileOutput:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()

    def _release(self) -> None:
        if not self._open:
            return
        self._open = False
        for scratch in self._scratch:
            with contextlib.suppress(FileNotFoundError):
                scratch.unlink()
        self._scratch.clear()
        self._claim.__exit__(None, None, None)


# -- manifests --------------------------------------------------------------------------------


def write_manifest(
    staging: Path, manifest: Mapping[str, Any], *, files: Iterable[str]
) -> dict[str, Any]:
    """Write ``config.json`` into ``staging`` with the SHA-256 of each of ``files``.

    Returns the manifest as written. Call it last, once the data files are complete.
    """
    content = dict(manifest)
    content["files"] = {name: sha256_file(staging / name) for name in files}
    (staging / MANIFEST).write_text(dumps_json(content) + "\n", encoding="utf-8")
    return content


def read_manifest(
    root: str | os.PathLike[str], kind: str, *, version: int, oldest: int = 1
) -> dict[str, Any]:
    """Read and check ``root/config.json`` for an artefact of ``kind``.

    The version policy is the same for every kind: a ``format_version`` newer than
    ``version`` needs a newer vecae; one older than ``oldest`` can no longer be read.

    Raises
    ------
    ModelFileError
        ``root`` is not a directory, or its manifest is missing, oversized, not strict JSON,
        of another kind, or of an unsupported version; the message names the file.
    """
    directory = Path(root)
    what = _DESCRIPTIONS.get(kind, kind)
    if not directory.is_dir():
        raise ModelFileError(f"{directory}: not a directory; expected a vecae {what} directory")
    path = directory / MANIFEST
    if not path.is_file():
        raise ModelFileError(f"{path}: file is missing; this is not a vecae {what} directory")
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise ModelFileError(f"{path}: larger than {MAX_MANIFEST_BYTES >> 20} MiB; not ours")
        config = json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ModelFileError(f"{path}: unreadable or not valid JSON ({reason})") from exc
    if not isinstance(config, dict) or config.get("format") != kind:
        raise ModelFileError(f"{path}: not a vecae {what} (no format={kind!r})")
    found = config.get("format_version")
    if not isinstance(found, int) or isinstance(found, bool):
        raise ModelFileError(f"{path}: format_version {found!r} is not an integer")
    if found > version:
        raise ModelFileError(
            f"{path}: format_version {found} is newer than this vecae reads ({version}); "
            "upgrade vecae"
        )
    if found < oldest:
        raise ModelFileError(
            f"{path}: format_version {found} is older than this vecae reads ({oldest}); "
            f"re-create the {what}"
        )
    files = config.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        raise ModelFileError(f"{path}: field 'files' is missing or not a map of checksums")
    return config


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def checked_file(root: Path, name: str, manifest: Mapping[str, Any]) -> Path:
    """``root/name`` after checking it exists and matches the checksum in the manifest."""
    path = Path(root) / name
    expected = manifest.get("files", {}).get(name)
    if expected is None:
        raise ModelFileError(f"{Path(root) / MANIFEST}: no checksum recorded for {name}")
    if not path.is_file():
        raise ModelFileError(f"{path}: file is missing")
    try:
        digest = sha256_file(path)
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot be read ({exc.strerror})") from exc
    if digest != expected:
        raise ModelFileError(
            f"{path}: checksum mismatch; the file was truncated or modified after saving"
        )
    return path


def read_with_retry(root: str | os.PathLike[str], read: Callable[[Path], T]) -> T:
    """Run ``read(root)``, again if a writer replaced ``root`` while it was being read.

    A replace swaps the whole directory; a reader that opened ``config.json`` of the old
    artefact and a data file of the new one sees a checksum mismatch, and in the two-rename
    fallback the path is briefly missing. Either way, the directory's identity (its inode)
    changed, or its claim is held: then the read is retried, up to about one second.
    """
    directory = Path(root)
    lock = _lock_path(_absolute(directory))
    delay = 0.005
    for attempt in range(8):
        before = _identity(directory)
        try:
            return read(directory)
        except (ModelFileError, OSError):
            after = _identity(directory)
            replaced = before != after or lock.exists()
            if attempt == 7 or not replaced:
                raise
        time.sleep(delay)
        delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)
