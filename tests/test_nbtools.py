"""tools/nbtools.py: notebooks are written atomically, and a failed run never loses a notebook."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import nbtools  # noqa: E402


def _notebook(*sources):
    return nbtools.new_notebook([("code", s) for s in sources])


def test_write_atomic_writes_a_readable_notebook(tmp_path):
    path = tmp_path / "a.ipynb"
    nbtools.write_atomic(_notebook("1 + 1"), path)
    assert nbformat.read(path, as_version=4).cells[0].source == "1 + 1"
    assert [p.name for p in tmp_path.iterdir()] == ["a.ipynb"]  # no temporary file left


def test_a_full_disk_leaves_the_old_notebook_whole(tmp_path, monkeypatch):
    path = tmp_path / "a.ipynb"
    nbtools.write_atomic(_notebook("print('the reader wrote this')"), path)
    before = path.read_bytes()
    os.chmod(path, 0o640)

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(nbtools.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        nbtools.write_atomic(_notebook("x = 2"), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.ipynb"]
    monkeypatch.undo()
    nbtools.write_atomic(_notebook("x = 3"), path)
    assert path.stat().st_mode & 0o777 == 0o640  # the mode survives the rename


def test_a_notebook_that_cannot_be_serialised_is_not_touched(tmp_path):
    path = tmp_path / "a.ipynb"
    nbtools.write_atomic(_notebook("1"), path)
    before = path.read_bytes()
    broken = _notebook("2")
    broken.metadata["not json"] = object()  # json.dumps cannot write it
    with pytest.raises(TypeError, match="not JSON serializable"):
        nbtools.write_atomic(broken, path)
    assert path.read_bytes() == before


@pytest.mark.slow
def test_execute_goes_on_after_a_failure_and_names_it(tmp_path, capsys):
    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    nbtools.write_atomic(_notebook("print(6 * 7)"), good)
    nbtools.write_atomic(_notebook("raise ValueError('boom')"), bad)
    bad_before = bad.read_bytes()
    status = nbtools.main(["execute", str(bad), str(good)])
    err = capsys.readouterr().err
    assert status == 1
    assert f"FAILED {bad}" in err and "boom" in err
    assert f"left unchanged on disk: {bad}" in err
    assert bad.read_bytes() == bad_before
    executed = nbformat.read(good, as_version=4)
    assert executed.cells[0].execution_count == 1
    assert executed.cells[0].outputs[0]["text"] == "42\n"


def test_usage_without_a_command(capsys):
    assert nbtools.main([]) == 2
    assert "execute" in capsys.readouterr().err
