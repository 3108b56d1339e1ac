"""Tampered artifacts run no code and are refused in one plain line; artifacts can be signed with a key;
`wq train --overwrite` replaces only a verified artifact, atomically.

The crafted payloads would create a marker file in a temporary folder if their code ran; every test asserts
that the marker does not exist."""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
import torch

import wq.batch.artifact as art_mod
from wq.batch.artifact import _manifest_checksum, read_artifact, write_artifact
from wq.batch.forecast import load_batch_model
from wq.batch.signing import KEY_ENV, SIGNATURE
from wq.cli import main
from wq.data.simulate import simulate_wetland
from wq.errors import ArtifactError
from wq.models.tabular import SKOPS_TREE, SKOPS_TRUSTED, TabularComponent, _tree_nodes
from wq.windows import WindowSet

REPO = Path(__file__).resolve().parents[2]
KEY = "k" * 32
TOML = """
name = "sec"
seed = 1
[data]
path = "{path}"
time = "date"
target = ["cod_out_mgl"]
drivers = ["air_temp_c", "rain_mm"]
fill_limit = 7
[split]
validation = 0.25
[model]
name = "{model}"
lags = 3
horizon = 2
hidden = 4
epochs = 1
batch = 32
max_iter = 20
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("sec")
    data = root / "d.csv"
    simulate_wetland(days=120, seed=4).to_csv(data, index=False)
    out = {"root": root, "data": data}
    for model in ("hgb", "lstm"):
        toml = root / f"{model}.toml"
        toml.write_text(TOML.format(path=data.as_posix(), model=model))
        out[f"{model}_toml"] = toml
        assert main(["train", str(toml), "--artifact", str(root / model), "--quiet"]) == 0
        out[model] = root / model
    return out


def _copy_with(src: Path, dst: Path, name: str, data: bytes) -> Path:
    """A copy of an artifact with one file replaced and the manifest rewritten to match (hashes, checksum):
    what someone who can write the folder can do."""
    import shutil

    shutil.copytree(src, dst)
    (dst / name).write_bytes(data)
    manifest = json.loads((dst / "manifest.json").read_text())
    manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    manifest.pop(SIGNATURE, None)
    manifest["manifest_sha256"] = _manifest_checksum(manifest)
    (dst / "manifest.json").write_text(json.dumps(manifest))
    return dst


def _skops_exec_payload(code: str) -> bytes:
    """A .skops file whose tree is a reduce node calling numpy.testing._private.utils.runstring (= exec)."""
    args = json.loads(zipfile.ZipFile(io.BytesIO(sio.dumps((code, {})))).read("schema.json"))
    protocol, version = args.pop("protocol"), args.pop("_skops_version")
    schema = {"__class__": "runstring", "__module__": "numpy.testing._private.utils",
              "__loader__": "ConstructorFromReduceNode", "content": args, "__id__": 1,
              "protocol": protocol, "_skops_version": version}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))
    return buf.getvalue()


class _Exec:
    def __init__(self, code: str):
        self.code = code

    def __reduce__(self):
        return (builtins.exec, (self.code,))


def _marker_code(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').write('code ran')"


def _run_wq(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "wq", *args], capture_output=True, text=True, env=full,
                          cwd=REPO, timeout=180)


# ---------------------------------------------------------------------------------------------- skops


def test_allow_lists_are_exactly_what_fitted_models_hold() -> None:
    rng = np.random.default_rng(0)
    n = 80
    ws = WindowSet(X=rng.normal(size=(n, 3, 2)), Z=np.zeros((n, 0)), Y=rng.normal(size=(n, 2, 1)),
                   origins=np.arange(n))
    assert set(SKOPS_TREE) == set(SKOPS_TRUSTED) == {"svr", "hgb", "ols", "hgb-quantile"}
    held: dict = {kind: set() for kind in SKOPS_TREE}
    for estimator in ("svr", "hgb", "ols"):
        quantiles = [0.1, 0.9] if estimator == "hgb" else []  # hgb's quantile-loss regressors: "hgb-quantile"
        comp = TabularComponent(estimator=estimator, max_iter=10, quantiles=quantiles).fit(
            ws, ws if estimator == "hgb" else None, seed=0)
        meta, blobs = comp.get_state()
        assert len(blobs) == 2 * (1 + len(quantiles))
        for name, blob in blobs.items():
            kind = "hgb-quantile" if name.startswith("q") else estimator
            assert set(sio.get_untrusted_types(data=blob)) == SKOPS_TRUSTED[kind]
            nodes = _tree_nodes(json.loads(zipfile.ZipFile(io.BytesIO(blob)).read("schema.json")), set())
            assert nodes <= SKOPS_TREE[kind], nodes - SKOPS_TREE[kind]
            held[kind] |= nodes
        loaded = TabularComponent.from_state(meta, blobs)
        np.testing.assert_array_equal(loaded.predict(ws), comp.predict(ws))
        for tau in quantiles:
            np.testing.assert_array_equal(loaded.predict_quantile(ws, tau), comp.predict_quantile(ws, tau))
        if quantiles:  # a squared-error model where a quantile model belongs (or the reverse) is refused
            swapped = {**blobs, "q0.1_0": blobs["0"]}
            with pytest.raises(ArtifactError, match="does not need and wq does not trust"):
                TabularComponent.from_state(meta, swapped)
    # every class an allow-list names beyond plain containers and arrays is one a fitted model holds
    for kind, tree in SKOPS_TREE.items():
        own = {(t, loader) for t, loader in tree if not t.startswith(("builtins.", "numpy."))}
        assert own <= held[kind], own - held[kind]


def test_crafted_skops_payload_runs_no_code_and_exits_2(env, tmp_path) -> None:
    marker = tmp_path / "marker"
    name = next(n for n in read_artifact(env["hgb"]).files if n.endswith(".skops"))
    bad = _copy_with(env["hgb"], tmp_path / "bad", name, _skops_exec_payload(_marker_code(marker)))
    proc = _run_wq("forecast", "--artifact", str(bad), "--data", str(env["data"]), "--dry-run",
                   "--max-staleness", "none")
    assert proc.returncode == 2, proc.stderr
    assert not marker.exists()  # the attacker's code did not run
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("wq: error: artifact ")
    assert "numpy.testing._private.utils.runstring" in err[0]
    assert "Traceback" not in proc.stderr


# ------------------------------------------------------------------------ multi-site artifacts (wq.sites)

SITES_TOML = """
name = "sec-sites"
seed = 1
[data]
path = "{path}"
time = "time"
site = "site"
target = "demand_m3h"
drivers = ["temperature_c"]
[split]
validation = 0.3
[model]
name = "hgb"
horizon = 24
strategy = "direct"
pooling = "global"
rows = 300
max_iter = 5
max_leaf_nodes = 5
"""


@pytest.fixture(scope="module")
def sites_env(tmp_path_factory):
    from wq.data.district import simulate_district

    root = tmp_path_factory.mktemp("sec-sites")
    data = root / "d.csv"
    simulate_district(sites=2, days=21, seed=2).to_csv(data, index=False)
    toml = root / "p.toml"
    toml.write_text(SITES_TOML.format(path=data.as_posix()))
    assert main(["train", str(toml), "--out", str(root / "art"), "--quiet"]) == 0
    return {"root": root, "data": data, "toml": toml, "art": root / "art"}


def test_sites_regressors_hold_exactly_the_hgb_allow_list() -> None:
    """Local (plain) and global (site a categorical feature) week-ahead regressors as a multi-site artifact saves
    them: exactly the hgb allow-list; the global one's column transformer (a function node) is not saved, and
    the numpy encoding that replaces it predicts the same, unknown site codes included."""
    from wq.sites.artifact import SiteCoded, model_bytes
    from wq.sites.model import HGBSettings, fit_regressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6))
    X[:, -1] = rng.integers(0, 3, len(X))
    y = rng.normal(size=len(X))
    st = HGBSettings(max_iter=5)
    for categorical in (False, True):
        model = fit_regressor(X, y, st, categorical=categorical)
        blob, cats = model_bytes(model)
        assert (cats is not None) == categorical
        assert set(sio.get_untrusted_types(data=blob)) == SKOPS_TRUSTED["hgb"]
        nodes = _tree_nodes(json.loads(zipfile.ZipFile(io.BytesIO(blob)).read("schema.json")), set())
        assert nodes <= SKOPS_TREE["hgb"], nodes - SKOPS_TREE["hgb"]
        from wq.models.tabular import load_skops_model

        loaded = load_skops_model(blob, "hgb", X.shape[1])
        if categorical:
            full = _tree_nodes(json.loads(zipfile.ZipFile(io.BytesIO(sio.dumps(model))).read("schema.json")), set())
            assert ("sklearn.utils.validation.check_array", "FunctionNode") in full  # why it is left out
            loaded = SiteCoded(loaded, np.asarray(cats))
            X = np.vstack([X, X[:5] * [1, 1, 1, 1, 1, 0] + [0, 0, 0, 0, 0, 7]])  # site code 7: unknown
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_crafted_skops_payload_in_a_sites_artifact_runs_no_code_and_exits_2(sites_env, tmp_path, capsys) -> None:
    marker = tmp_path / "marker"
    bad = _copy_with(sites_env["art"], tmp_path / "bad", "sites/model_0.skops",
                     _skops_exec_payload(_marker_code(marker)))
    db = tmp_path / "f.sqlite"
    capsys.readouterr()
    code = main(["forecast", "--artifact", str(bad), "--data", str(sites_env["data"]), "--store", str(db)])
    assert code == 2
    assert not marker.exists()  # the attacker's code did not run
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"wq: error: artifact {bad}: sites/model_0.skops")
    assert "numpy.testing._private.utils.runstring" in err[0] and not db.exists()


def test_sites_artifact_with_a_column_transformer_or_edited_meta_is_refused(sites_env, tmp_path, capsys) -> None:
    import skops.io as skio

    from wq.sites.artifact import load_sites_model
    from wq.sites.model import HGBSettings, fit_regressor

    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 22))
    X[:, -1] = rng.integers(0, 2, len(X))
    full = skio.dumps(fit_regressor(X, rng.normal(size=len(X)), HGBSettings(max_iter=3), categorical=True))
    bad = _copy_with(sites_env["art"], tmp_path / "ct", "sites/model_0.skops", full)
    with pytest.raises(ArtifactError, match="does not need and wq does not trust"):
        load_sites_model(bad)
    # a hand edit of the meta (the scales) without the checksum: refused by the manifest check
    edited = tmp_path / "edited"
    import shutil

    shutil.copytree(sites_env["art"], edited)
    manifest = json.loads((edited / "manifest.json").read_text())
    manifest["meta"]["scales"] = {k: [0.0, 1.0] for k in manifest["meta"]["scales"]}
    (edited / "manifest.json").write_text(json.dumps(manifest))
    assert main(["forecast", "--artifact", str(edited), "--data", str(sites_env["data"]), "--dry-run"]) == 2
    assert "manifest" in capsys.readouterr().err


def test_skops_file_of_another_estimator_or_shape_is_refused(env, tmp_path) -> None:
    from sklearn.svm import SVR

    name = next(n for n in read_artifact(env["hgb"]).files if n.endswith(".skops"))
    rng = np.random.default_rng(1)
    svr = sio.dumps(SVR().fit(rng.normal(size=(30, 4)), rng.normal(size=30)))  # a trusted type, the wrong one
    with pytest.raises(ArtifactError, match="does not need and wq does not trust: sklearn.svm._classes.SVR"):
        load_batch_model(_copy_with(env["hgb"], tmp_path / "svr", name, svr))
    with pytest.raises(ArtifactError, match="not a readable skops file"):
        load_batch_model(_copy_with(env["hgb"], tmp_path / "junk", name, b"PK\x03\x04 not a zip"))


# ---------------------------------------------------------------------------------------------- torch


def test_crafted_torch_payload_runs_no_code_and_is_one_plain_line(env, tmp_path, capsys) -> None:
    marker = tmp_path / "marker"
    buf = io.BytesIO()
    torch.save({"w": _Exec(_marker_code(marker))}, buf)
    bad = _copy_with(env["lstm"], tmp_path / "bad", "model/weights.pt", buf.getvalue())
    capsys.readouterr()
    assert main(["forecast", "--artifact", str(bad), "--data", str(env["data"]), "--dry-run",
                 "--max-staleness", "none", "--quiet"]) == 2
    assert not marker.exists()
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "\x1b" not in err and len(err) < 300, err
    assert "pickled call to exec" in err and "weights_only=True" in err
    # the same summary through the artifact's own reader
    with pytest.raises(ArtifactError) as caught:
        read_artifact(bad).torch_state("model/weights.pt")
    assert "\x1b" not in str(caught.value) and "\n" not in str(caught.value) and len(str(caught.value)) < 300
    assert not marker.exists()


def test_every_torch_loader_refuses_the_payload_in_one_line(tmp_path) -> None:
    from wq.augment import load_generator, make_generator
    from wq.models.base import torch_load_bytes

    marker = tmp_path / "marker"
    buf = io.BytesIO()
    torch.save({"w": _Exec(_marker_code(marker))}, buf)
    windows = np.random.default_rng(0).random((32, 6, 2)).astype(np.float32)
    make_generator("vae", epochs=1).fit(windows, seed=0).save(tmp_path / "g")
    (tmp_path / "g" / "weights.pt").write_bytes(buf.getvalue())
    for load in (lambda: load_generator(tmp_path / "g"), lambda: torch_load_bytes(buf.getvalue())):
        with pytest.raises(ArtifactError) as caught:
            load()
        text = str(caught.value)
        assert "pickled call to exec" in text and "\x1b" not in text and "\n" not in text and len(text) < 300
    assert not marker.exists()


# ---------------------------------------------------------------------------------------------- signing


def test_signed_artifact_needs_the_key_where_it_is_set(env, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    signed = tmp_path / "signed"
    assert main(["train", str(env["hgb_toml"]), "--artifact", str(signed), "--quiet"]) == 0
    assert read_artifact(signed).signed
    load_batch_model(signed)  # the same key: loads
    common = ["--data", str(env["data"]), "--dry-run", "--max-staleness", "none", "--quiet"]
    # an artifact written without the key is refused while the key is set
    capsys.readouterr()
    assert main(["forecast", "--artifact", str(env["hgb"]), *common]) == 2
    assert "not signed" in capsys.readouterr().err
    # a file changed and the manifest rewritten to match (checksums recomputed): the signature no longer fits
    manifest = json.loads((signed / "manifest.json").read_text())
    forged = _copy_with(signed, tmp_path / "forged", "pipeline.toml", (signed / "pipeline.toml").read_bytes() + b"\n")
    forged_manifest = json.loads((forged / "manifest.json").read_text())
    forged_manifest[SIGNATURE] = manifest[SIGNATURE]  # the old signature kept
    forged_manifest["manifest_sha256"] = _manifest_checksum(forged_manifest)
    (forged / "manifest.json").write_text(json.dumps(forged_manifest))
    assert main(["forecast", "--artifact", str(forged), *common]) == 2
    assert "signature does not match" in capsys.readouterr().err
    # another key
    monkeypatch.setenv(KEY_ENV, "x" * 32)
    assert main(["forecast", "--artifact", str(signed), *common]) == 2
    assert "signature does not match" in capsys.readouterr().err
    # no key where it is loaded: the signature is not checked (documented), the checksums still are
    monkeypatch.delenv(KEY_ENV)
    assert main(["forecast", "--artifact", str(signed), *common]) == 0
    # a key too short to be a secret
    monkeypatch.setenv(KEY_ENV, "short")
    assert main(["train", str(env["hgb_toml"]), "--artifact", str(tmp_path / "s2"), "--quiet"]) == 2
    assert "at least 16" in capsys.readouterr().err and not (tmp_path / "s2").exists()


# ---------------------------------------------------------------------------------------------- overwrite


def test_overwrite_refuses_anything_but_an_artifact(env, tmp_path, capsys) -> None:
    data_copy = tmp_path / "data.csv"
    data_copy.write_bytes(env["data"].read_bytes())
    folder = tmp_path / "things"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("mine")
    (folder / "sub" / "x.bin").write_bytes(b"\x00" * 10)
    extra = tmp_path / "artifact-plus"
    import shutil

    shutil.copytree(env["hgb"], extra)
    (extra / "my-notes.txt").write_text("not part of the artifact")
    link = tmp_path / "link"
    link.symlink_to(env["hgb"], target_is_directory=True)

    def snapshot(path: Path) -> dict[str, bytes]:
        if path.is_file():
            return {"": path.read_bytes()}
        return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}

    cases = [(data_copy, "is not a folder"), (folder, "manifest.json is missing"),
             (extra, "holds 'my-notes.txt'"), (link, "symbolic link")]
    for path, reason in cases:
        before = snapshot(path)
        capsys.readouterr()
        assert main(["train", str(env["hgb_toml"]), "--artifact", str(path), "--overwrite", "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"wq: error: artifact {path}: ") and reason in err and "nothing touched" in err, err
        assert snapshot(path) == before
    assert link.is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == [
        "artifact-plus", "data.csv", "link", "things"]  # no temporary left beside them


def test_overwrite_replaces_a_verified_artifact_atomically(env, tmp_path, monkeypatch, capsys) -> None:
    target = tmp_path / "a"
    assert main(["train", str(env["hgb_toml"]), "--artifact", str(target), "--seed", "1", "--quiet"]) == 0
    old_id = read_artifact(target).version_id
    # the swap fails when the new folder is renamed in: the old artifact is put back, nothing is left beside it
    real_rename, calls = os.rename, []

    def second_rename_fails(src, dst):
        calls.append((Path(src).name, Path(dst).name))
        if len(calls) == 2:
            raise OSError("rename failed (injected)")
        real_rename(src, dst)

    monkeypatch.setattr(art_mod.os, "rename", second_rename_fails)
    with pytest.raises(OSError, match="injected"):
        write_artifact(target, {"x.json": b"{}"}, overwrite=True)
    monkeypatch.undo()
    assert read_artifact(target).version_id == old_id and [p.name for p in tmp_path.iterdir()] == ["a"]
    # a damaged artifact (a listed file changed) is still an artifact: --overwrite replaces it
    (target / "pipeline.toml").write_text("damaged")
    assert main(["train", str(env["hgb_toml"]), "--artifact", str(target), "--overwrite", "--quiet"]) == 0
    new = read_artifact(target)
    assert new.version_id != old_id and [p.name for p in tmp_path.iterdir()] == ["a"]


def test_sites_artifact_is_signed_and_checked_with_the_key(sites_env, tmp_path, monkeypatch, capsys) -> None:
    from wq.sites.artifact import load_sites_model

    common = ["--data", str(sites_env["data"]), "--dry-run", "--quiet"]
    monkeypatch.setenv(KEY_ENV, KEY)
    assert main(["forecast", "--artifact", str(sites_env["art"]), *common]) == 2  # written without the key
    assert "not signed" in capsys.readouterr().err
    signed = tmp_path / "signed"
    assert main(["train", str(sites_env["toml"]), "--out", str(signed), "--quiet"]) == 0
    assert read_artifact(signed).signed and load_sites_model(signed).sites
    monkeypatch.setenv(KEY_ENV, "x" * 32)
    assert main(["forecast", "--artifact", str(signed), *common]) == 2
    assert "signature" in capsys.readouterr().err
