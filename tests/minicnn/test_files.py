"""atomic_write: all or nothing, never over an existing file without force."""

import os

import pytest

from minicnn.files import atomic_write, refuse_overwrite, temporary_folder


def test_writes_the_file_and_keeps_its_name_while_writing(tmp_path):
    seen = []

    def write(f):
        seen.append(os.path.basename(f.name))
        f.write(b"data")

    path = atomic_write(tmp_path / "sub" / "model.weights.h5", write)
    assert path == tmp_path / "sub" / "model.weights.h5" and path.read_bytes() == b"data"
    assert seen == ["model.weights.h5"]                # converters judge files by name
    assert os.listdir(path.parent) == ["model.weights.h5"]


def test_refuses_to_overwrite_without_force(tmp_path):
    path = tmp_path / "a.npz"
    path.write_bytes(b"old")
    called = []
    with pytest.raises(FileExistsError, match=r"a\.npz exists \(not overwritten; "
                                              r"force=True overwrites it\)"):
        atomic_write(path, called.append)
    assert called == [] and path.read_bytes() == b"old"
    atomic_write(path, lambda f: f.write(b"new"), force=True)
    assert path.read_bytes() == b"new"
    refuse_overwrite(tmp_path / "absent.npz")          # nothing there: no error


@pytest.mark.parametrize("error", [OSError("No space left on device"), KeyboardInterrupt()])
def test_a_failure_leaves_the_old_file_and_no_temporary(tmp_path, error):
    def dies(f):
        f.write(b"half")
        raise error

    with pytest.raises(type(error)):
        atomic_write(tmp_path / "new.bin", dies)
    assert os.listdir(tmp_path) == []
    old = tmp_path / "old.bin"
    old.write_bytes(b"old")
    with pytest.raises(type(error)):
        atomic_write(old, dies, force=True)
    assert os.listdir(tmp_path) == ["old.bin"] and old.read_bytes() == b"old"


def test_temporary_folder_is_beside_and_removed_even_on_ctrl_c(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with temporary_folder(tmp_path / "w" / "x.npz") as folder:
            assert folder.parent == tmp_path / "w" and folder.name.startswith(".x.npz.")
            (folder / "part").write_bytes(b"1")
            raise KeyboardInterrupt
    assert os.listdir(tmp_path / "w") == []
