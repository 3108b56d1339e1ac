"""wq.io: atomic file writes keep the old file on failure and its mode on success; replace_dir swaps a whole
folder in, or leaves the old one and no debris when the block or the swap fails."""

import os
import stat

import pytest

import wq.io as wio
from wq.errors import ConfigError
from wq.io import atomic_write_bytes, atomic_write_text, check_output_dir, replace_dir


def umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


def test_atomic_write_creates_folder_keeps_mode_and_leaves_no_temp(tmp_path):
    path = tmp_path / "sub" / "a.txt"
    atomic_write_text(path, "one")
    assert path.read_text() == "one" and stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask()
    os.chmod(path, 0o640)
    atomic_write_bytes(path, b"two")
    assert path.read_bytes() == b"two" and stat.S_IMODE(path.stat().st_mode) == 0o640
    assert os.listdir(path.parent) == ["a.txt"]


@pytest.mark.parametrize("fault", [KeyboardInterrupt, OSError(28, "No space left on device")])
def test_atomic_write_failure_keeps_the_old_file(tmp_path, monkeypatch, fault):
    path = tmp_path / "a.txt"
    path.write_text("old")

    def fail(*args):
        raise fault

    monkeypatch.setattr(wio.os, "replace", fail)
    with pytest.raises(fault if isinstance(fault, type) else type(fault)):
        atomic_write_text(path, "new")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["a.txt"]


def test_replace_dir_swaps_the_whole_folder(tmp_path):
    target = tmp_path / "report"
    (target / "figures").mkdir(parents=True)
    (target / "figures" / "old.png").write_bytes(b"old")
    with replace_dir(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".report.tmp-") and not any(tmp.iterdir())
        (tmp / "report.md").write_text("new")
        assert (target / "figures" / "old.png").exists()  # readers see the old folder until the swap
    assert sorted(p.name for p in target.iterdir()) == ["report.md"]
    assert os.listdir(tmp_path) == ["report"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o777 & ~umask()
    with replace_dir(tmp_path / "new" / "deeper") as tmp:  # missing parents are made
        (tmp / "x").write_text("x")
    assert (tmp_path / "new" / "deeper" / "x").read_text() == "x"


@pytest.mark.parametrize("fault", [KeyboardInterrupt, OSError(28, "No space left on device"), RuntimeError])
def test_replace_dir_failure_in_the_block_keeps_the_old_folder(tmp_path, fault):
    target = tmp_path / "report"
    target.mkdir()
    (target / "report.md").write_text("old")
    with pytest.raises(fault if isinstance(fault, type) else type(fault)):
        with replace_dir(target) as tmp:
            (tmp / "report.md").write_text("half")
            raise fault
    assert (target / "report.md").read_text() == "old" and os.listdir(tmp_path) == ["report"]


def test_replace_dir_failure_of_the_swap_restores_the_old_folder(tmp_path, monkeypatch):
    target = tmp_path / "report"
    target.mkdir()
    (target / "report.md").write_text("old")
    real = os.rename
    calls = []

    def second_fails(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # old renamed away; renaming the new one in fails
            raise OSError(5, "Input/output error")
        return real(src, dst)

    monkeypatch.setattr(wio.os, "rename", second_fails)
    with pytest.raises(OSError, match="Input/output"):
        with replace_dir(target) as tmp:
            (tmp / "report.md").write_text("new")
    assert (target / "report.md").read_text() == "old" and os.listdir(tmp_path) == ["report"]


def test_a_symbolic_link_target_replaces_the_folder_it_names(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "a").write_text("old")
    (tmp_path / "link").symlink_to(real)
    with replace_dir(tmp_path / "link") as tmp:
        (tmp / "a").write_text("new")
    assert (tmp_path / "link").is_symlink() and (real / "a").read_text() == "new"


def test_check_output_dir_refuses_files(tmp_path):
    (tmp_path / "file.txt").write_text("keep")
    with pytest.raises(ConfigError, match=r"--out .*file\.txt is an existing file, not a folder"):
        check_output_dir(tmp_path / "file.txt", "--out")
    with pytest.raises(ConfigError, match=r"file\.txt is a file, so the folder cannot be made"):
        check_output_dir(tmp_path / "file.txt" / "a" / "b")
    with pytest.raises(ConfigError, match="existing file"):
        with replace_dir(tmp_path / "file.txt"):
            pytest.fail("the block must not run")
    assert (tmp_path / "file.txt").read_text() == "keep" and os.listdir(tmp_path) == ["file.txt"]
    assert check_output_dir(tmp_path / "new" / "folder") == tmp_path / "new" / "folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_check_output_dir_refuses_a_read_only_parent(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o555)
    try:
        with pytest.raises(ConfigError, match="not writable"):
            check_output_dir(ro / "out")
    finally:
        os.chmod(ro, 0o755)
