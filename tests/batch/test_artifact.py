"""Artifacts: atomic writes, manifest verification, safe weights; data fingerprint and fresh-data checks."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import wq
import wq.batch.artifact as art
from wq.batch.artifact import (
    ARTIFACT_FORMAT,
    MANIFEST,
    check_fresh_data,
    fingerprint,
    package_versions,
    read_artifact,
    write_artifact,
)
from wq.errors import ArtifactError, DataError

torch.set_num_threads(1)


def _weights(**shapes: tuple[int, ...]) -> bytes:
    buf = io.BytesIO()
    torch.save({k: torch.arange(int(np.prod(s)), dtype=torch.float32).reshape(s) for k, s in shapes.items()}, buf)
    return buf.getvalue()


@pytest.fixture
def files() -> dict[str, bytes]:
    return {
        "weights.pt": _weights(**{"lstm.weight": (4, 2), "head.bias": (1,)}),
        "preprocess.json": json.dumps({"min": [0.0], "max": [2.5]}).encode(),
        "models/svr.skops": b"\x00\x01binary",
    }


@pytest.fixture
def artifact_dir(tmp_path: Path, files: dict[str, bytes]) -> Path:
    return write_artifact(tmp_path / "model", files, {"pipeline": "demo", "val_mape": 4.2})


def _siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_round_trip(artifact_dir: Path, files: dict[str, bytes]) -> None:
    a = read_artifact(artifact_dir)
    assert a.files == sorted(files)
    assert a.bytes("models/svr.skops") == files["models/svr.skops"]
    assert a.json("preprocess.json") == {"min": [0.0], "max": [2.5]}
    assert a.path("preprocess.json") == artifact_dir / "preprocess.json"
    state = a.torch_state("weights.pt", shapes={"lstm.weight": (4, 2), "head.bias": (1,)})
    assert torch.equal(state["lstm.weight"], torch.arange(8, dtype=torch.float32).reshape(4, 2))
    assert a.meta == {"pipeline": "demo", "val_mape": 4.2}
    assert a.format == ARTIFACT_FORMAT
    assert a.manifest["wq_version"] == wq.__version__
    assert a.packages["torch"] == torch.__version__
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", a.version_id)
    entry = a.manifest["files"]["preprocess.json"]
    assert entry["size"] == len(files["preprocess.json"])
    assert entry["sha256"] == hashlib.sha256(files["preprocess.json"]).hexdigest()


def test_version_id_hash_depends_on_content(tmp_path: Path, files: dict[str, bytes]) -> None:
    a = read_artifact(write_artifact(tmp_path / "a", files)).version_id
    b = read_artifact(write_artifact(tmp_path / "b", dict(files))).version_id
    c = read_artifact(write_artifact(tmp_path / "c", {**files, "preprocess.json": b"{}"})).version_id
    assert a.split("-")[1] == b.split("-")[1] != c.split("-")[1]
    assert read_artifact(write_artifact(tmp_path / "d", files, version_id="v7")).version_id == "v7"


def test_crash_while_writing_leaves_nothing(tmp_path: Path, files: dict[str, bytes], monkeypatch) -> None:
    real = art._write_file
    calls = []

    def fail_on_second(path: Path, data: bytes) -> None:
        calls.append(path.name)
        if len(calls) == 2:
            raise OSError("disk full (injected)")
        real(path, data)

    monkeypatch.setattr(art, "_write_file", fail_on_second)
    with pytest.raises(OSError, match="injected"):
        write_artifact(tmp_path / "model", files)
    assert len(calls) == 2
    assert _siblings(tmp_path) == []  # no target, no temporary directory


def test_existing_artifact_is_refused_or_replaced_atomically(
    artifact_dir: Path, files: dict[str, bytes], monkeypatch
) -> None:
    old_id = read_artifact(artifact_dir).version_id
    with pytest.raises(ArtifactError, match="already exists"):
        write_artifact(artifact_dir, {"x.json": b"{}"})
    assert read_artifact(artifact_dir).version_id == old_id

    def crash(path: Path, data: bytes) -> None:
        raise OSError("crash (injected)")

    with monkeypatch.context() as m:
        m.setattr(art, "_write_file", crash)
        with pytest.raises(OSError, match="injected"):
            write_artifact(artifact_dir, {"x.json": b"{}"}, overwrite=True)
    assert read_artifact(artifact_dir).version_id == old_id  # old one untouched
    write_artifact(artifact_dir, {"x.json": b"{}"}, overwrite=True, version_id="new")
    new = read_artifact(artifact_dir)
    assert (new.version_id, new.files) == ("new", ["x.json"])
    assert _siblings(artifact_dir.parent) == ["model"]  # old copy and temp dir removed


def test_tampered_json_is_named(artifact_dir: Path) -> None:
    path = artifact_dir / "preprocess.json"
    raw = bytearray(path.read_bytes())
    raw[raw.index(b"2.5")] = ord("3")  # same size, one byte changed
    path.write_bytes(bytes(raw))
    with pytest.raises(ArtifactError, match=r"'preprocess\.json' was modified.*sha256"):
        read_artifact(artifact_dir)


def test_truncated_file_is_named(artifact_dir: Path) -> None:
    path = artifact_dir / "weights.pt"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ArtifactError, match=r"'weights\.pt' has \d+ bytes"):
        read_artifact(artifact_dir)


def test_missing_file_is_named(artifact_dir: Path) -> None:
    (artifact_dir / "models" / "svr.skops").unlink()
    with pytest.raises(ArtifactError, match=r"'models/svr\.skops' listed in the manifest is missing"):
        read_artifact(artifact_dir)


def test_missing_manifest_and_missing_dir(artifact_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="does not exist"):
        read_artifact(tmp_path / "nope")
    (artifact_dir / MANIFEST).unlink()
    with pytest.raises(ArtifactError, match="manifest.json is missing"):
        read_artifact(artifact_dir)


def _edit_manifest(artifact_dir: Path, **changes) -> None:
    path = artifact_dir / MANIFEST
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


def test_edited_manifest_is_refused(artifact_dir: Path) -> None:
    _edit_manifest(artifact_dir, meta={"pipeline": "other"})
    with pytest.raises(ArtifactError, match="manifest.json was edited"):
        read_artifact(artifact_dir)


def test_newer_format_asks_for_upgrade(artifact_dir: Path) -> None:
    _edit_manifest(artifact_dir, format=ARTIFACT_FORMAT + 2)
    msg = f"artifact format {ARTIFACT_FORMAT + 2} is newer than this wq supports ({ARTIFACT_FORMAT}); upgrade wq"
    with pytest.raises(ArtifactError, match=re.escape(msg)):
        read_artifact(artifact_dir)


def test_invalid_manifest_json(artifact_dir: Path) -> None:
    (artifact_dir / MANIFEST).write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        read_artifact(artifact_dir)


def test_weights_of_wrong_shape_or_keys(artifact_dir: Path) -> None:
    a = read_artifact(artifact_dir)
    with pytest.raises(ArtifactError, match=r"'lstm\.weight' has shape \(4, 2\), the model expects \(4, 3\)"):
        a.torch_state("weights.pt", shapes={"lstm.weight": (4, 3), "head.bias": (1,)})
    with pytest.raises(ArtifactError, match=r"missing 'lstm\.bias'; unexpected 'head\.bias'"):
        a.torch_state("weights.pt", shapes={"lstm.weight": (4, 2), "lstm.bias": (4,)})


class _RunsCode:
    def __reduce__(self):
        return (os.getpid, ())


def test_corrupt_or_unsafe_weights(tmp_path: Path) -> None:
    evil = io.BytesIO()
    torch.save({"w": _RunsCode()}, evil)
    a = read_artifact(
        write_artifact(
            tmp_path / "m",
            {"junk.pt": b"not a torch file", "evil.pt": evil.getvalue(), "plain.pt": _list_file(), "a.json": b"[1,"},
        )
    )
    with pytest.raises(ArtifactError, match=r"'junk\.pt' is not a loadable torch state"):
        a.torch_state("junk.pt")
    with pytest.raises(ArtifactError, match=r"'evil\.pt' is not a loadable torch state \(weights_only=True\)"):
        a.torch_state("evil.pt")
    with pytest.raises(ArtifactError, match=r"'plain\.pt' holds a list, not a state dict"):
        a.torch_state("plain.pt")
    with pytest.raises(ArtifactError, match=r"'a\.json' is not valid JSON"):
        a.json("a.json")
    with pytest.raises(ArtifactError, match=r"no file 'other\.json'"):
        a.json("other.json")


def _list_file() -> bytes:
    buf = io.BytesIO()
    torch.save([torch.zeros(2)], buf)
    return buf.getvalue()


@pytest.mark.parametrize("name", ["../x", "/abs", "a/../b", "manifest.json", "", "a\\b", "a//b"])
def test_bad_file_names_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="not allowed|non-empty"):
        write_artifact(tmp_path / "m", {name: b"x"})
    assert _siblings(tmp_path) == []


def test_package_versions_keys() -> None:
    versions = package_versions()
    assert set(versions) == {"python", "wq", "torch", "numpy", "pandas", "sklearn", "pywt"}
    assert versions["numpy"] == np.__version__ and versions["pandas"] == pd.__version__


# --------------------------------------------------------------------------- fingerprint


def _frame(n: int = 10, freq: str = "D") -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=n, freq=freq, name="time")
    return pd.DataFrame({"flow": np.linspace(1.0, 2.0, n), "temp": np.arange(n, dtype=float)}, index=index)


def test_fingerprint_fields_and_stability() -> None:
    frame = _frame()
    fp = fingerprint(frame)
    assert fp["start"] == "2024-01-01T00:00:00" and fp["end"] == "2024-01-10T00:00:00"
    assert (fp["rows"], fp["columns"], fp["freq"]) == (10, ["flow", "temp"], "D")
    assert fingerprint(frame.copy()) == fp
    assert fingerprint(_frame()) == fp  # rebuilt from scratch: same content, same hash
    assert fingerprint(frame.iloc[:, ::-1])["sha256"] != fp["sha256"]
    changed = frame.copy()
    changed.iloc[3, 0] += 1e-12
    assert fingerprint(changed)["sha256"] != fp["sha256"]
    assert fingerprint(frame.rename(columns={"flow": "q"}))["sha256"] != fp["sha256"]
    shifted = frame.copy()
    shifted.index = shifted.index + pd.Timedelta(days=1)
    assert fingerprint(shifted)["sha256"] != fp["sha256"]
    assert fingerprint(frame.iloc[[0, 1, 5]])["freq"] is None
    assert fingerprint(frame.iloc[[0, 1, 5]], freq="1D")["freq"] == "D"
    json.dumps(fp)  # JSON-serialisable for the manifest


def test_fingerprint_rejects_non_time_index() -> None:
    with pytest.raises(DataError, match="DatetimeIndex"):
        fingerprint(pd.DataFrame({"a": [1.0]}))


# --------------------------------------------------------------------------- fresh data


def test_fresh_data_ok() -> None:
    frame = _frame()
    fp = fingerprint(frame)
    check_fresh_data(frame, fp, as_of=frame.index[-1])
    check_fresh_data(frame, fp, max_staleness=pd.Timedelta("1D"), now=pd.Timestamp("2024-01-11"))
    check_fresh_data(frame, fp, as_of=pd.Timestamp("2024-01-05"))  # backfill: later rows are ignored
    check_fresh_data(frame.drop(frame.index[[3, 4]]), fp)  # gaps on the grid keep the frequency


def test_fresh_data_missing_column() -> None:
    frame = _frame()
    with pytest.raises(DataError, match=r"missing column\(s\) 'temp'"):
        check_fresh_data(frame.drop(columns="temp"), fingerprint(frame))
    check_fresh_data(frame.drop(columns="temp"), fingerprint(frame), required_columns=["flow"])


def test_fresh_data_changed_frequency() -> None:
    fp = fingerprint(_frame())
    with pytest.raises(DataError, match=r"frequency changed.*'h'.*'D'"):
        check_fresh_data(_frame(48, "h"), fp)
    irregular = _frame(48, "h").iloc[[0, 5, 30, 47]]
    with pytest.raises(DataError, match=r"frequency changed: step 0 days 05:00:00"):
        check_fresh_data(irregular, fp)


def test_fresh_data_stale_or_short() -> None:
    frame = _frame()
    fp = fingerprint(frame)
    with pytest.raises(DataError, match=r"stale.*2024-01-10.*3 days.*at most 1 days"):
        check_fresh_data(frame, fp, max_staleness="1D", now=pd.Timestamp("2024-01-13"))
    with pytest.raises(DataError, match=r"end at 2024-01-10 00:00:00, before the as-of time 2024-01-11"):
        check_fresh_data(frame, fp, as_of=pd.Timestamp("2024-01-11"))
    check_fresh_data(frame, fp, as_of=pd.Timestamp("2024-01-11"), max_staleness="1D")
    partial = frame.copy()
    partial.iloc[-1, 1] = np.nan  # the last row is incomplete: the last observation is the 9th
    with pytest.raises(DataError, match="before the as-of time 2024-01-10"):
        check_fresh_data(partial, fp, as_of=frame.index[-1])
    with pytest.raises(DataError, match="no complete observation"):
        check_fresh_data(frame, fp, as_of=pd.Timestamp("2023-12-01"))


def test_fresh_data_gap_rule() -> None:
    frame = _frame().drop(pd.to_datetime(["2024-01-04", "2024-01-05"]))
    fp = fingerprint(_frame())
    check_fresh_data(frame, fp, max_gap="3D")
    with pytest.raises(DataError, match=r"gap of 3 days.*2024-01-03.*2024-01-06.*allowed 2 days"):
        check_fresh_data(frame, fp, max_gap="2D")
