"""Atomic writes: whole files or none, and no clash between processes writing the same file."""

import os
import subprocess
import sys

import pytest

from glai_ssl.utils.files import HOST, atomic_path, move_in, remove_orphans, scratch_dir


def test_a_finished_block_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "deep" / "cache.bin"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["cache.bin"]


def test_an_error_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="interrupted"), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_two_writers_at_once_use_their_own_temporaries(tmp_path):
    target = tmp_path / "same.txt"
    with atomic_path(target) as first, atomic_path(target) as second:
        assert first != second
        first.write_text("first")
        second.write_text("second")
    assert target.read_text() == "first"  # the outer block ends last, so its rename wins


def test_temporaries_of_killed_writers_are_removed_and_live_ones_kept(tmp_path):
    target = tmp_path / "cache.pt"
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    orphan = tmp_path / f"cache.pt.{HOST}-{finished.pid}-0123abcd.tmp"
    live = tmp_path / f"cache.pt.{HOST}-{os.getpid()}-0123abcd.tmp"
    other_file = tmp_path / f"other.pt.{HOST}-{finished.pid}-0123abcd.tmp"
    other_machine = tmp_path / f"cache.pt.0000beef-{finished.pid}-0123abcd.tmp"  # a shared cache: pid unknown
    for path in (orphan, live, other_file, other_machine):
        path.write_bytes(b"partial")
    remove_orphans(target)
    assert not orphan.exists() and live.exists() and other_file.exists() and other_machine.exists()


def test_a_scratch_folder_is_removed_with_its_contents_and_orphans_of_killed_writers_too(tmp_path):
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    orphan = tmp_path / f".extract.{HOST}-{finished.pid}-0123abcd.tmp"
    (orphan / "half").mkdir(parents=True)
    with scratch_dir(tmp_path, "extract") as scratch:
        assert not orphan.exists() and scratch.parent == tmp_path
        (scratch / "folder").mkdir()
        (scratch / "folder" / "batch").write_bytes(b"whole")
        (scratch / "left.tar").write_bytes(b"not moved")
        move_in(scratch / "folder", tmp_path / "folder")
        (tmp_path / "other").mkdir()
        (tmp_path / "other" / "left.tar").write_bytes(b"older")
        move_in(scratch / "left.tar", tmp_path / "other" / "left.tar")  # a file: the last writer wins
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "other"]
    assert (tmp_path / "folder" / "batch").read_bytes() == b"whole"
    assert (tmp_path / "other" / "left.tar").read_bytes() == b"not moved"
    with scratch_dir(tmp_path, "extract") as scratch:  # another process moved its copy in first: keep that
        (scratch / "folder").mkdir()
        move_in(scratch / "folder", tmp_path / "folder")
    assert (tmp_path / "folder" / "batch").read_bytes() == b"whole"
    with pytest.raises(OSError), scratch_dir(tmp_path, "extract") as scratch:  # a folder onto a file
        (scratch / "folder").mkdir()
        move_in(scratch / "folder", tmp_path / "other" / "left.tar")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "other"]


def test_two_processes_filling_an_empty_dataset_cache_both_succeed(data_root, fresh_cache):
    """The bug this fixes: two recipes started together on a new machine shared one temporary name while
    decompressing Fashion-MNIST into the cache, and one failed with FileNotFoundError."""
    load = "from glai_ssl.data import load_dataset; print(len(load_dataset('fashion-mnist', 'train')))"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", load], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-2000:]
        assert out.strip() == "60000"
    raw = fresh_cache / "torchvision" / "FashionMNIST" / "raw"
    assert not list(raw.glob("*.tmp")), "temporaries left behind"
