"""The dataset and feature cache: content-keyed, checksummed, atomic, shared safely.

Layout: ``$TINYML_CACHE`` (default ``~/.cache/tinyml-suite``) holds ``datasets/`` and
``features/``; each entry is one ``.npz`` file named ``<name>-<key>.npz``. What makes
the cache trustworthy:

* **Keys from content.** A dataset key hashes the loader (class, ``VERSION``), the seed
  and every option, with each option that names a file or folder replaced by
  :func:`fingerprint` of its content (every file's relative path, size and mtime_ns,
  plus a hash of the bytes when the folder is small). Editing, adding or removing a
  file anywhere under ``dataset.root`` gives a new key. A feature key hashes the data
  actually featurised (shape and CRC-32 of every split), the features config and the
  DSP blocks' ``IMPLEMENTATION_VERSION`` (see ``stage_features``).
* **Atomic writes.** An entry is written to a temporary file in the same folder and
  renamed over its final name (:func:`os.replace`), so a reader sees a whole entry or
  none. Several processes (sweep workers on one machine or on a cluster sharing the
  folder) may build the same entry at once: each renames a complete file, the last
  one wins, and both hold the same data.
* **Verified reads.** Every entry carries a ``__meta__`` record with the cache format
  version and a CRC-32 of every array (on top of the zip format's own CRC). A damaged,
  truncated, foreign or unreadable entry is a warning; the entry is removed and rebuilt.
* **Never fatal.** An unwritable or full cache folder is a warning and the run goes on
  without caching.

``tinyml cache info`` lists the entries; ``tinyml cache clear [datasets|features]``
removes them (and temporary files left by killed processes).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinyml_suite.common.errors import ConfigError
from tinyml_suite.common.io import atomic_path

__all__ = [
    "CACHE_FORMAT",
    "KINDS",
    "CacheDamaged",
    "cache_root",
    "cache_folder",
    "fingerprint",
    "array_digest",
    "save_arrays",
    "load_arrays",
    "read_entry",
    "write_entry",
    "cache_info",
    "clear_cache",
    "main",
]

log = logging.getLogger("tinyml.cache")

#: bump when the entry layout changes: older entries are then rebuilt, not misread
CACHE_FORMAT = 2
KINDS = ("datasets", "features")
#: folders whose files total at most this many bytes are fingerprinted by content too
CONTENT_HASH_LIMIT = 64 * 1024 * 1024
_META = "__meta__"
_warned: set[str] = set()


class CacheDamaged(Exception):
    """A cache entry that cannot be trusted (internal: turned into a warning + rebuild)."""


def _warn_once(key: str, message: str, *args: Any) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning(message, *args)


def cache_root() -> Path:
    """``$TINYML_CACHE`` or ``~/.cache/tinyml-suite`` (not created here).

    Examples
    --------
    >>> import os
    >>> os.environ["TINYML_CACHE"] = "/tmp/tinyml-doc-cache"
    >>> str(cache_root())
    '/tmp/tinyml-doc-cache'
    """
    env = os.environ.get("TINYML_CACHE", "").strip()
    return Path(os.path.expanduser(env)) if env else Path.home() / ".cache" / "tinyml-suite"


def cache_folder(kind: str) -> Path | None:
    """The folder for ``kind`` entries, created when needed; None (warned once) if unusable."""
    path = cache_root() / kind
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _warn_once(f"mkdir:{path}", "cache folder %s is unusable (%s); running without the %s cache "
                   "(set TINYML_CACHE to a writable folder)", path, exc.strerror or exc, kind)
        return None
    return path


# -- keys ------------------------------------------------------------------------------


def fingerprint(path: str | os.PathLike, *, content_limit: int = CONTENT_HASH_LIMIT) -> str:
    """A digest of a file's or folder's content, for cache keys.

    Every regular file under ``path`` contributes its relative path, size and
    modification time in nanoseconds; when all of them together hold at most
    ``content_limit`` bytes, their bytes are hashed too, so that even an edit that keeps
    a file's size and modification time gives a new fingerprint.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "sub").mkdir(); _ = (d / "sub" / "a.csv").write_text("1,2,3")
    >>> before = fingerprint(d)
    >>> _ = (d / "sub" / "a.csv").write_text("1,2,4")   # same size, inside a sub-folder
    >>> fingerprint(d) != before
    True
    """
    root = Path(path)
    entries: list[tuple[str, int, int]] = []
    if root.is_file():
        st = root.stat()
        entries.append((root.name, st.st_size, st.st_mtime_ns))
        files = [root]
    else:
        files = []
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
            dirnames.sort()
            for name in sorted(filenames):
                f = Path(dirpath) / name
                try:
                    st = f.stat()
                except OSError:  # a dangling link: part of the layout, not of the data
                    entries.append((str(f.relative_to(root)), -1, 0))
                    continue
                entries.append((str(f.relative_to(root)), st.st_size, st.st_mtime_ns))
                files.append(f)
    h = hashlib.sha256()
    h.update(json.dumps(entries, separators=(",", ":")).encode())
    if sum(max(e[1], 0) for e in entries) <= content_limit:
        for f in files:
            try:
                with open(f, "rb") as fh:
                    for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                        h.update(block)
            except OSError:
                h.update(b"<unreadable>")
    return h.hexdigest()[:20]


def array_digest(arrays: Sequence[np.ndarray]) -> str:
    """Shapes, dtypes and CRC-32 of arrays: identifies data for a feature-cache key.

    >>> a = np.zeros((2, 3), np.float32)
    >>> array_digest([a]) == array_digest([a.copy()]), array_digest([a]) == array_digest([a[:1]])
    (True, False)
    """
    parts = []
    for a in arrays:
        a = np.ascontiguousarray(a)
        parts.append([list(a.shape), a.dtype.str, zlib.crc32(_bytes(a))])
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:20]


def _bytes(a: np.ndarray) -> memoryview:
    a = np.ascontiguousarray(a)
    return memoryview(a).cast("B") if a.size else memoryview(b"")


# -- entries ---------------------------------------------------------------------------


def _checksum(arrays: Mapping[str, np.ndarray]) -> dict[str, list]:
    return {k: [list(np.shape(v)), np.asarray(v).dtype.str, zlib.crc32(_bytes(np.asarray(v)))]
            for k, v in sorted(arrays.items())}


def save_arrays(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` as one checksummed ``.npz`` atomically (OSError on failure).

    No object arrays (no pickles): strings are stored as fixed-width unicode.
    """
    clean = {}
    for k, v in arrays.items():
        if k == _META:
            raise ValueError(f"{_META} is reserved")
        v = np.asarray(v)
        if v.dtype == object:
            v = v.astype(str)
        clean[k] = v
    meta = {"format": CACHE_FORMAT, "arrays": _checksum(clean)}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **clean, **{_META: np.array(json.dumps(meta))})
            fh.flush()
            os.fsync(fh.fileno())


def load_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read and verify an entry written by :func:`save_arrays`; CacheDamaged if untrustworthy."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if _META not in z.files:
                raise CacheDamaged("no checksum record (written by another version)")
            meta = json.loads(str(z[_META]))
            arrays = {k: z[k] for k in z.files if k != _META}
    except CacheDamaged:
        raise
    except FileNotFoundError:
        raise
    except Exception as exc:  # BadZipFile, ValueError, OSError, EOFError, JSON errors ...
        raise CacheDamaged(f"{type(exc).__name__}: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != CACHE_FORMAT:
        raise CacheDamaged(f"cache format {meta.get('format') if isinstance(meta, dict) else '?'}, "
                           f"expected {CACHE_FORMAT}")
    if _checksum(arrays) != meta.get("arrays"):
        raise CacheDamaged("checksum mismatch")
    return arrays


def read_entry(kind: str, name: str) -> dict[str, np.ndarray] | None:
    """The arrays of cache entry ``name`` (``<name>.npz`` in the ``kind`` folder), or None.

    None when there is no such entry, the cache is unusable, or the entry is damaged
    (then it is removed, with a warning naming it, so that the caller rebuilds it).
    """
    folder = cache_folder(kind)
    if folder is None:
        return None
    path = folder / f"{name}.npz"
    try:
        return load_arrays(path)
    except FileNotFoundError:
        return None
    except CacheDamaged as exc:
        log.warning("damaged cache entry %s (%s); rebuilding it", path, exc)
        try:
            path.unlink()
        except OSError:
            pass
        return None


def write_entry(kind: str, name: str, arrays: Mapping[str, np.ndarray]) -> Path | None:
    """Store ``arrays`` as entry ``name``; a failure (read-only, full disk) is a warning."""
    folder = cache_folder(kind)
    if folder is None:
        return None
    path = folder / f"{name}.npz"
    try:
        save_arrays(path, arrays)
    except OSError as exc:
        _warn_once(f"write:{folder}", "could not write cache entry %s (%s); continuing without caching it",
                   path, exc.strerror or exc)
        return None
    return path


# -- info / clear ----------------------------------------------------------------------


def cache_info(root: Path | None = None) -> dict[str, Any]:
    """Entries, sizes and leftover temporary files per kind."""
    root = cache_root() if root is None else Path(root)
    out: dict[str, Any] = {"root": str(root), "kinds": {}}
    for kind in KINDS:
        folder = root / kind
        entries = sorted(folder.glob("*.npz")) if folder.is_dir() else []
        temps = sorted(folder.glob(".*.tmp")) if folder.is_dir() else []
        out["kinds"][kind] = {
            "entries": [(p.name, p.stat().st_size) for p in entries],
            "bytes": sum(p.stat().st_size for p in entries),
            "temporary": len(temps),
        }
    return out


def clear_cache(kinds: Sequence[str] = KINDS, root: Path | None = None) -> tuple[int, int]:
    """Remove the entries (and leftover temporary files) of ``kinds``; return (files, bytes)."""
    root = cache_root() if root is None else Path(root)
    n = size = 0
    for kind in kinds:
        folder = root / kind
        if not folder.is_dir():
            continue
        for p in [*folder.glob("*.npz"), *folder.glob(".*.tmp")]:
            try:
                st = p.stat()
                p.unlink()
            except FileNotFoundError:
                continue
            n += 1
            size += st.st_size
    return n, size


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


USAGE = "usage: tinyml cache info | tinyml cache clear [datasets|features]"


def main(argv: Sequence[str]) -> int:
    """``tinyml cache info|clear``."""
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    cmd, rest = argv[0], list(argv[1:])
    if cmd == "info":
        if rest:
            raise ConfigError(f"tinyml cache info takes no argument; {USAGE}")
        info = cache_info()
        print(f"cache: {info['root']} (set TINYML_CACHE to move it)")
        for kind, k in info["kinds"].items():
            extra = f", {k['temporary']} temporary file(s) of interrupted writes" if k["temporary"] else ""
            print(f"  {kind}: {len(k['entries'])} entries, {_mb(k['bytes'])}{extra}")
            for name, size in k["entries"]:
                print(f"    {name}  {_mb(size)}")
        return 0
    if cmd == "clear":
        bad = [k for k in rest if k not in KINDS]
        if bad:
            raise ConfigError(f"tinyml cache clear: unknown kind {bad[0]!r}; choose from {', '.join(KINDS)}")
        n, size = clear_cache(rest or KINDS)
        print(f"tinyml: removed {n} cache file(s), {_mb(size)}, from {cache_root()}")
        return 0
    raise ConfigError(f"tinyml cache: unknown command {cmd!r}; {USAGE}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
