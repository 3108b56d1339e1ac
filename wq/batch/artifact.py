# size: the artifact format in one place: writing, verifying (checksums, HMAC, shapes) and reading stay symmetric
"""Model artifacts: a directory written atomically and verified against its manifest on load.

Layout of an artifact directory::

    manifest.json    format, wq version, version id, created_at, package versions, caller's meta,
                     and the sha256 and size of every other file
    <files>          whatever the caller passes: torch state dicts (``torch.save``), fitted
                     preprocessing state (JSON), skops files, the pipeline TOML, ...

No file is ever unpickled: torch weights load with ``weights_only=True`` and everything else is
JSON or bytes for the caller to parse safely.

Safety:

- :func:`write_artifact` writes into a temporary sibling directory, fsyncs every file, writes the
  manifest last, then renames the directory into place, so a crash leaves no half artifact at the
  target (at most a hidden ``.<name>.tmp-*`` sibling, never read).
- :func:`read_artifact` checks the manifest (present, valid JSON, a format this wq supports, its
  own checksum) and every listed file (present, same size and sha256) and keeps the verified bytes,
  so the accessors return exactly what was checked. Every failure is one
  :class:`~wq.errors.ArtifactError` naming the file and the reason.

- An existing artifact is replaced (``overwrite=True``) only when it verifies as one
  (:func:`check_replaceable`: a folder whose manifest is valid and which holds nothing the manifest
  does not list); anything else at the path (a data file, a folder of other things, a symlink) is
  refused and left untouched.

The manifest's checksum catches corruption and hand edits; it is not a signature and does not
stop someone who rewrites both a file and the manifest on purpose. With ``WQ_ARTIFACT_KEY`` set,
the manifest is signed at write and the signature is required at read (:mod:`wq.batch.signing`).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import platform
import shutil
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

import wq
from wq.batch.signing import SIGNATURE, artifact_key, sign_manifest, verify_manifest
from wq.errors import ArtifactError, DataError

__all__ = [
    "ARTIFACT_FORMAT",
    "MANIFEST",
    "Artifact",
    "write_artifact",
    "read_artifact",
    "check_replaceable",
    "fingerprint",
    "check_fresh_data",
    "package_versions",
]

ARTIFACT_FORMAT = 1
"""Newest artifact format this wq reads and the one it writes."""

MANIFEST = "manifest.json"

_PACKAGES = {"torch": "torch", "numpy": "numpy", "pandas": "pandas", "sklearn": "scikit-learn", "pywt": "PyWavelets"}


def package_versions() -> dict[str, str | None]:
    """Versions of Python, wq and the numerical packages (None for one not installed).

    Read from the installed distributions' metadata, so nothing heavy is imported.
    """
    out: dict[str, str | None] = {"python": platform.python_version(), "wq": wq.__version__}
    for key, dist in _PACKAGES.items():
        try:
            out[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[key] = None
    return out


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def _manifest_checksum(manifest: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of the manifest without its own ``manifest_sha256`` field."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return _sha256(_canonical(body))


def _check_name(name: object) -> str:
    """A file name inside the artifact: relative POSIX path, no '..', not the manifest."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"artifact file name must be a non-empty string, got {name!r}")
    pure = PurePosixPath(name)
    if (
        "\\" in name
        or pure.is_absolute()
        or any(part in ("", ".", "..") for part in name.split("/"))
        or name == MANIFEST
    ):
        raise ValueError(f"artifact file name {name!r} is not allowed (relative path, no '..', not {MANIFEST!r})")
    return name


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _version_id(created: _dt.datetime, entries: Mapping[str, Mapping[str, Any]]) -> str:
    """``YYYYmmddTHHMMSSZ-<first 8 hex of the sha256 over the sorted file hashes>``."""
    content = _sha256(_canonical({name: entry["sha256"] for name, entry in entries.items()}))
    return f"{created.strftime('%Y%m%dT%H%M%SZ')}-{content[:8]}"


# size: one transaction: every file, then the manifest and its signature, then the atomic install
def write_artifact(
    target_dir: str | os.PathLike[str],
    files: Mapping[str, bytes],
    meta: Mapping[str, Any] | None = None,
    *,
    overwrite: bool = False,
    version_id: str | None = None,
    key: bytes | None = None,
) -> Path:
    """Write an artifact directory atomically and return its path.

    ``files`` maps relative POSIX names (subfolders allowed) to bytes; ``meta`` is any
    JSON-serialisable mapping stored in the manifest (by convention ``meta["fingerprint"]`` holds
    :func:`fingerprint` of the training data and ``meta["pipeline"]`` the pipeline's name).
    The manifest records ``format`` (:data:`ARTIFACT_FORMAT`), ``wq_version``, ``created_at``
    (UTC ISO), ``version_id`` (given, or ``<UTC time>-<content hash>``), ``packages``
    (:func:`package_versions`), ``meta``, and per file its ``sha256`` and ``size``.

    Everything goes to a temporary sibling directory first (each file fsynced, manifest last),
    which is then renamed to ``target_dir``. An existing ``target_dir`` is refused with
    :class:`~wq.errors.ArtifactError` unless ``overwrite=True`` and it verifies as an artifact
    (:func:`check_replaceable`); then the old directory is first renamed aside (``.<name>.old-*``),
    the new one renamed in (the old one renamed back if that fails), and the old one deleted. A crash
    between those two renames leaves no artifact at ``target_dir`` and the old one intact aside;
    at no point is there a half-written artifact at ``target_dir``.

    ``key``: sign the manifest with HMAC-SHA256 (:mod:`wq.batch.signing`); default the key in
    ``WQ_ARTIFACT_KEY``, unsigned when that is unset.
    """
    target = Path(target_dir)
    meta = dict(meta or {})
    if not isinstance(files, Mapping):
        raise TypeError(f"files must be a mapping of name -> bytes, got {type(files).__name__}")
    for name, data in files.items():
        _check_name(name)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"artifact file {name!r}: content must be bytes, got {type(data).__name__}")
    lowered = [n.lower() for n in files]
    if len(set(lowered)) != len(lowered):
        raise ValueError("artifact file names must differ by more than letter case")
    try:
        _canonical(meta)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"artifact meta is not JSON-serialisable: {exc}") from None
    if not target.parent.is_dir():
        raise ArtifactError(f"artifact {target}: folder {target.parent} does not exist")
    if target.exists() or target.is_symlink():
        if not overwrite:
            raise ArtifactError(f"artifact {target}: already exists (pass overwrite=True to replace it)")
        check_replaceable(target)
    key = artifact_key() if key is None else key

    created = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    entries = {
        name: {"sha256": _sha256(bytes(data)), "size": len(data)} for name, data in sorted(files.items())
    }
    manifest: dict[str, Any] = {
        "format": ARTIFACT_FORMAT,
        "wq_version": wq.__version__,
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "version_id": version_id if version_id is not None else _version_id(created, entries),
        "packages": package_versions(),
        "meta": meta,
        "files": entries,
    }
    if key is not None:
        manifest[SIGNATURE] = sign_manifest(manifest, key)
    manifest["manifest_sha256"] = _manifest_checksum(manifest)

    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        for name, data in sorted(files.items()):
            _write_file(tmp / name, bytes(data))
        _write_file(tmp / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n")
        for folder in sorted({tmp, *((tmp / n).parent for n in files)}, key=lambda p: -len(p.parts)):
            _fsync_dir(folder)
        _install(tmp, target, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(target.parent)
    return target


def _install(tmp: Path, target: Path, overwrite: bool) -> None:
    """Rename the finished temporary directory to ``target`` (see :func:`write_artifact`)."""
    if not (target.exists() or target.is_symlink()):
        try:
            os.rename(tmp, target)
            return
        except OSError as exc:
            if not (target.exists() and overwrite):
                raise ArtifactError(f"artifact {target}: cannot move into place: {exc}") from None
    if not overwrite:
        raise ArtifactError(f"artifact {target}: already exists (pass overwrite=True to replace it)")
    check_replaceable(target)  # again, just before the swap: nothing but a verified artifact goes away
    old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:12]}"
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def check_replaceable(target: str | os.PathLike[str]) -> None:
    """Refuse (:class:`~wq.errors.ArtifactError`, naming the path) to replace anything but a wq artifact.

    ``target`` must be a real folder (not a symbolic link) with a valid manifest (JSON, a known format,
    its own checksum) that lists everything in the folder: a file or folder the manifest does not list
    (a data file, someone's notes) means it is not only an artifact, and nothing is touched. Listed files
    may be damaged: replacing a damaged artifact is what ``--overwrite`` is for.
    """
    path = Path(target)
    if path.is_symlink():
        raise _fail(path, "is a symbolic link; --overwrite replaces only a folder that is a wq artifact "
                          "(train into a new folder and switch the link); nothing touched")
    if not path.is_dir():
        raise _fail(path, "exists and is not a folder; --overwrite replaces only a wq artifact folder; nothing touched")
    try:
        manifest = _read_manifest(path)
    except ArtifactError as exc:
        raise ArtifactError(f"{exc}; --overwrite replaces only a wq artifact folder; nothing touched") from None
    listed = {MANIFEST, *(str(n) for n in manifest["files"])}
    folders = {str(PurePosixPath(n).parent) for n in listed} - {"."}
    folders |= {str(p) for f in folders for p in PurePosixPath(f).parents if str(p) != "."}
    for item in sorted(path.rglob("*")):
        rel = item.relative_to(path).as_posix()
        known = rel in folders if item.is_dir() and not item.is_symlink() else (rel in listed and not item.is_symlink())
        if not known:
            raise _fail(path, f"holds {rel!r}, which is not part of the artifact; --overwrite replaces only a wq "
                              "artifact folder; nothing touched")


@dataclass(frozen=True)
class Artifact:
    """A verified artifact: its manifest and the verified bytes of every file it lists."""

    root: Path
    manifest: dict[str, Any]
    _data: dict[str, bytes] = field(repr=False)

    @property
    def version_id(self) -> str:
        return str(self.manifest["version_id"])

    @property
    def meta(self) -> dict[str, Any]:
        """The caller's meta mapping as written."""
        return self.manifest.get("meta", {})

    @property
    def signed(self) -> bool:
        """Whether the manifest carries an HMAC signature (checked at load only where the key is set)."""
        return SIGNATURE in self.manifest

    @property
    def format(self) -> int:
        return int(self.manifest["format"])

    @property
    def created_at(self) -> pd.Timestamp:
        return pd.Timestamp(self.manifest["created_at"])

    @property
    def packages(self) -> dict[str, str | None]:
        return dict(self.manifest.get("packages", {}))

    @property
    def files(self) -> list[str]:
        """Names of the listed files, sorted."""
        return sorted(self._data)

    def _get(self, name: str) -> bytes:
        try:
            return self._data[name]
        except KeyError:
            raise ArtifactError(
                f"artifact {self.root}: no file {name!r} in its manifest (has: {', '.join(self.files) or 'none'})"
            ) from None

    def bytes(self, name: str) -> bytes:
        """The verified content of a listed file."""
        return self._get(name)

    def path(self, name: str) -> Path:
        """Filesystem path of a listed file, for readers that need one. Its content was verified
        at load, but the file may change after that: prefer :meth:`bytes` where possible."""
        self._get(name)
        return self.root / name

    def text(self, name: str) -> str:
        """A listed file decoded as UTF-8."""
        try:
            return self._get(name).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ArtifactError(f"artifact {self.root}: file {name!r} is not UTF-8 text: {exc}") from None

    def json(self, name: str) -> Any:
        """A listed file parsed as JSON (NaN/Infinity refused)."""
        text = self.text(name)

        def _no_constants(token: str) -> None:
            raise ValueError(f"non-standard JSON constant {token}")

        try:
            return json.loads(text, parse_constant=_no_constants)
        except ValueError as exc:
            raise ArtifactError(f"artifact {self.root}: file {name!r} is not valid JSON: {exc}") from None

    def torch_state(self, name: str, shapes: Mapping[str, Sequence[int]] | None = None) -> dict[str, Any]:
        """A listed file loaded with ``torch.load(..., weights_only=True, map_location="cpu")``.

        The result must be a mapping of names to tensors (a state dict). With ``shapes``
        (``{key: shape}``, e.g. from a freshly built model's ``state_dict()``), the keys must be
        the same and every tensor must have that shape. Any failure is an
        :class:`~wq.errors.ArtifactError` naming the file and the key.
        """
        import torch

        data = self._get(name)
        try:
            state = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
        except Exception as exc:  # noqa: BLE001 - torch raises many types for a bad file
            from wq.models.base import torch_refusal

            reason = torch_refusal(exc)
            raise ArtifactError(
                f"artifact {self.root}: file {name!r} is not a loadable torch state (weights_only=True): {reason}"
            ) from None
        if not isinstance(state, Mapping):
            raise ArtifactError(
                f"artifact {self.root}: file {name!r} holds a {type(state).__name__}, not a state dict"
            )
        for key, value in state.items():
            if not isinstance(key, str) or not isinstance(value, torch.Tensor):
                raise ArtifactError(
                    f"artifact {self.root}: file {name!r}: entry {key!r} is a {type(value).__name__}, not a tensor"
                )
        if shapes is not None:
            _check_shapes(self.root, name, state, shapes)
        return dict(state)


def _check_shapes(path: Path, name: str, state: Mapping[str, Any], shapes: Mapping[str, Sequence[int]]) -> None:
    missing = sorted(set(shapes) - set(state))
    extra = sorted(set(state) - set(shapes))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(map(repr, missing))}")
        if extra:
            parts.append(f"unexpected {', '.join(map(repr, extra))}")
        raise ArtifactError(f"artifact {path}: file {name!r} does not fit the model: {'; '.join(parts)}")
    for key, want in shapes.items():
        got = tuple(state[key].shape)
        if got != tuple(int(s) for s in want):
            raise ArtifactError(
                f"artifact {path}: file {name!r}: {key!r} has shape {got}, the model expects {tuple(want)}"
            )


def _fail(path: Path, reason: str) -> ArtifactError:
    return ArtifactError(f"artifact {path}: {reason}")


def _read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of the artifact folder ``path``: present, valid JSON, a known format, its own checksum
    and the required fields (:func:`read_artifact`'s first checks)."""
    mpath = path / MANIFEST
    try:
        raw = mpath.read_bytes()
    except FileNotFoundError:
        raise _fail(path, f"{MANIFEST} is missing (not a wq artifact, or an incomplete one)") from None
    except OSError as exc:
        raise _fail(path, f"{MANIFEST} cannot be read: {exc}") from None
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _fail(path, f"{MANIFEST} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict):
        raise _fail(path, f"{MANIFEST} is not a JSON object")
    fmt = manifest.get("format")
    if isinstance(fmt, bool) or not isinstance(fmt, int):
        raise _fail(path, f"{MANIFEST}: 'format' must be an integer, got {fmt!r}")
    if fmt > ARTIFACT_FORMAT:
        raise _fail(path, f"artifact format {fmt} is newer than this wq supports ({ARTIFACT_FORMAT}); upgrade wq")
    if fmt < 1:
        raise _fail(path, f"{MANIFEST}: unknown artifact format {fmt}")
    if manifest.get("manifest_sha256") != _manifest_checksum_safe(manifest):
        raise _fail(path, f"{MANIFEST} was edited: its checksum does not match its content")
    for key in ("version_id", "created_at", "files"):
        if key not in manifest:
            raise _fail(path, f"{MANIFEST}: missing field {key!r}")
    if not isinstance(manifest["files"], dict):
        raise _fail(path, f"{MANIFEST}: 'files' must be an object")
    return manifest


def read_artifact(artifact_dir: str | os.PathLike[str], *, key: bytes | None = None) -> Artifact:
    """Load and verify an artifact directory written by :func:`write_artifact`.

    Checks, in order: the directory exists; ``manifest.json`` is present and valid JSON; its
    ``format`` is an integer no newer than :data:`ARTIFACT_FORMAT` ("artifact format 3 is newer
    than this wq supports (1); upgrade wq"); the manifest's own checksum matches (it was not
    edited); with a key (``key``, default ``WQ_ARTIFACT_KEY``; none when unset) its HMAC signature
    (:mod:`wq.batch.signing`); every listed file exists, is a regular file inside the artifact and
    has the recorded size and sha256. Files not listed are ignored and cannot be read through the result.
    Every failure raises :class:`~wq.errors.ArtifactError` naming the file and the reason.
    """
    path = Path(artifact_dir)
    if not path.is_dir():
        raise _fail(path, "does not exist or is not a directory")
    manifest = _read_manifest(path)
    verify_manifest(manifest, artifact_key() if key is None else key, f"artifact {path}")
    entries = manifest["files"]
    root = path.resolve()
    data: dict[str, bytes] = {}
    for name, entry in sorted(entries.items()):
        try:
            _check_name(name)
        except ValueError as exc:
            raise _fail(path, f"{MANIFEST}: {exc}") from None
        if not isinstance(entry, dict) or not {"sha256", "size"} <= set(entry):
            raise _fail(path, f"{MANIFEST}: entry for {name!r} lacks sha256/size")
        fpath = path / name
        if not fpath.resolve().is_relative_to(root):
            raise _fail(path, f"file {name!r} points outside the artifact")
        try:
            content = fpath.read_bytes()
        except FileNotFoundError:
            raise _fail(path, f"file {name!r} listed in the manifest is missing") from None
        except OSError as exc:
            raise _fail(path, f"file {name!r} cannot be read: {exc}") from None
        if len(content) != entry["size"]:
            raise _fail(path, f"file {name!r} has {len(content)} bytes, the manifest says {entry['size']} (changed or truncated)")
        if _sha256(content) != entry["sha256"]:
            raise _fail(path, f"file {name!r} was modified: its sha256 does not match the manifest")
        data[name] = content
    return Artifact(root=path, manifest=manifest, _data=data)


def _manifest_checksum_safe(manifest: Mapping[str, Any]) -> str | None:
    try:
        return _manifest_checksum(manifest)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- data fingerprint


def _freq_of(index: pd.DatetimeIndex) -> str | None:
    if index.freq is not None:
        return index.freq.freqstr
    if len(index) >= 3:
        return pd.infer_freq(index)
    return None


def _normal_freq(freq: str | None, where: str) -> str | None:
    if freq is None:
        return None
    try:
        return pd.tseries.frequencies.to_offset(freq).freqstr
    except (ValueError, TypeError) as exc:
        raise DataError(f"{where}: frequency {freq!r} is not a pandas frequency: {exc}") from None


def _check_index(frame: pd.DataFrame, where: str) -> pd.DatetimeIndex:
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{where}: expected a DataFrame, got {type(frame).__name__}")
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(f"{where}: the index must be a DatetimeIndex, got {type(index).__name__}")
    if len(index) == 0:
        raise DataError(f"{where}: no rows")
    if index.hasnans:
        raise DataError(f"{where}: the time index has missing values")
    if not index.is_monotonic_increasing or not index.is_unique:
        raise DataError(f"{where}: the time index must be sorted and unique")
    return index


def _ts_text(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).isoformat()


def fingerprint(frame: pd.DataFrame, freq: str | None = None) -> dict[str, Any]:
    """Identity of a data frame, stored with an artifact to check fresh data against.

    Returns ``{"start", "end"`` (ISO times of the first and last row), ``"rows"``, ``"columns"``
    (names in order), ``"dtypes"``, ``"freq"`` (given, else the index's, else
    :func:`pandas.infer_freq`, else None; normalised pandas alias), ``"sha256"}``. The hash is
    sha256 over the column names and dtypes (JSON) followed by the 64-bit row hashes of
    :func:`pandas.util.hash_pandas_object` (values and index, pandas' fixed default key), so it
    is the same for identical frames in any process and changes with any value, time, column
    name or order. It may change across pandas versions.
    """
    index = _check_index(frame, "fingerprint")
    columns = [str(c) for c in frame.columns]
    dtypes = [str(t) for t in frame.dtypes]
    digest = hashlib.sha256(_canonical({"columns": columns, "dtypes": dtypes}))
    rows = pd.util.hash_pandas_object(frame, index=True).to_numpy(dtype=np.uint64)
    digest.update(rows.astype("<u8").tobytes())
    return {
        "start": _ts_text(index[0]),
        "end": _ts_text(index[-1]),
        "rows": int(len(frame)),
        "columns": columns,
        "dtypes": dtypes,
        "freq": _normal_freq(freq if freq is not None else _freq_of(index), "fingerprint"),
        "sha256": digest.hexdigest(),
    }


def _names(cols: Iterable[str]) -> str:
    return ", ".join(repr(c) for c in cols)


def check_fresh_data(
    frame: pd.DataFrame,
    fingerprint: Mapping[str, Any],
    *,
    required_columns: Sequence[str] | None = None,
    max_staleness: pd.Timedelta | str | None = None,
    now: pd.Timestamp | None = None,
    as_of: pd.Timestamp | None = None,
    max_gap: pd.Timedelta | str | None = None,
    source: str = "fresh data",
) -> None:
    """Check data for a batch forecast against the training data's :func:`fingerprint`.

    Raises :class:`~wq.errors.DataError` with the reason when:

    - a required column is missing (``required_columns``, default the fingerprint's columns);
    - the frequency differs: the frame's (index freq, else :func:`pandas.infer_freq`) must equal
      the fingerprint's; a frame too irregular to infer must, for a fixed frequency, have every
      time step a whole multiple of it (gaps are ``max_gap``'s business). Skipped when the
      fingerprint has no frequency;
    - ``max_gap`` is given and two consecutive valid observations are further apart;
    - the data are stale. The reference time is ``as_of`` if given, else ``now`` (default: the
      current UTC time, tz-naive; pass ``now`` when the data are in local time). The last valid
      observation at or before the reference (valid: every required column present; later rows
      are the future for that reference and ignored) must be at most ``max_staleness`` older.
      With ``as_of`` and no ``max_staleness`` the allowance is zero: the data must reach the
      as-of time, the forecast origin. With neither, staleness is not checked.
    """
    index = _check_index(frame, source)
    cols = list(fingerprint.get("columns", [])) if required_columns is None else list(required_columns)
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {_names(missing)} that the model was trained with")
    _check_frequency(index, fingerprint.get("freq"), source)
    valid = frame[cols].notna().all(axis=1).to_numpy() if cols else np.ones(len(frame), dtype=bool)
    times = index[valid]
    if max_gap is not None:
        _check_max_gap(times, pd.Timedelta(max_gap), source)
    if as_of is None and max_staleness is None:
        return
    _check_staleness(times, max_staleness=max_staleness, now=now, as_of=as_of, source=source)


def _check_frequency(index: pd.DatetimeIndex, want: str | None, source: str) -> None:
    """The data's frequency is the trained one (or, too irregular to infer, every step a multiple of it)."""
    if want is None:
        return
    want_off = pd.tseries.frequencies.to_offset(want)
    got = _freq_of(index)
    if got is not None:
        if pd.tseries.frequencies.to_offset(got) != want_off:
            raise DataError(f"{source}: frequency changed: the data are at {got!r}, the model was trained at {want!r}")
        return
    if len(index) < 2:
        return
    try:
        step = pd.Timedelta(want_off)
    except ValueError:
        raise DataError(f"{source}: cannot infer the data's frequency; the model was trained at {want!r}") from None
    diffs = np.diff(index.asi8)
    if np.any(diffs % step.value != 0):
        first = int(np.flatnonzero(diffs % step.value != 0)[0])
        raise DataError(
            f"{source}: frequency changed: step {pd.Timedelta(int(diffs[first]))} after "
            f"{index[first]} is not a multiple of the trained frequency {want!r}"
        )


def _check_max_gap(times: pd.DatetimeIndex, gap: pd.Timedelta, source: str) -> None:
    """No two consecutive complete observations further apart than ``gap``."""
    if len(times) < 2:
        return
    diffs = np.diff(times.asi8)
    too_long = diffs > gap.value
    if too_long.any():
        i = int(np.flatnonzero(too_long)[0])
        raise DataError(
            f"{source}: gap of {pd.Timedelta(int(diffs[i]))} between {times[i]} and {times[i + 1]} "
            f"is longer than the allowed {gap}"
        )


def _check_staleness(times: pd.DatetimeIndex, *, max_staleness, now, as_of, source: str) -> None:
    """The last complete observation at or before the reference time is at most ``max_staleness`` old."""
    if as_of is not None:
        reference, label = pd.Timestamp(as_of), "the as-of time"
    else:
        reference = pd.Timestamp(now) if now is not None else pd.Timestamp.now(tz="UTC").tz_localize(None)
        label = "now"
    if reference.tzinfo is not None:
        reference = reference.tz_convert("UTC").tz_localize(None)
    allowed = pd.Timedelta(max_staleness) if max_staleness is not None else pd.Timedelta(0)
    upto = times[times <= reference]
    if len(upto) == 0:
        raise DataError(f"{source}: no complete observation at or before {label} {reference}")
    last = upto[-1]
    age = reference - last
    if age > allowed:
        if as_of is not None and max_staleness is None:
            raise DataError(f"{source}: the data end at {last}, before the as-of time {reference}")
        raise DataError(
            f"{source}: stale: the last complete observation ({last}) is {age} before {label} "
            f"({reference}); at most {allowed} is allowed"
        )

