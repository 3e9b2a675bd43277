"""schedlab data fetch against a local HTTP server: download, skip, corrupted, unreachable."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from schedlab.cli import cli
from schedlab.trace.fetch import OPENB_2023, FetchError, fetch, sha256


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[object]:
    servers: list[ThreadingHTTPServer] = []

    def start(directory: Path) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(directory)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_fetch_downloads_verifies_and_skips(tmp_path: Path, shared_data: Path, serve) -> None:  # type: ignore[no-untyped-def]
    url = serve(shared_data)
    dest = tmp_path / "data"
    status = fetch("openb-2023", dest, base_url=url)
    assert set(status.values()) == {"downloaded"} and len(status) == len(OPENB_2023.files) == 26
    for name, digest in OPENB_2023.files.items():
        assert sha256(dest / name) == digest
    (dest / "openb_pod_list_cpu050.csv").write_text("damaged\n")
    (dest / "openb_pod_list_default.csv").unlink()
    result = CliRunner().invoke(cli, ["data", "fetch", "openb-2023", "--dest", str(dest), "--base-url", url])
    assert result.exit_code == 0, result.output
    assert "openb-2023: 2 downloaded, 24 already present" in result.stdout
    assert sha256(dest / "openb_pod_list_cpu050.csv") == OPENB_2023.files["openb_pod_list_cpu050.csv"]


def test_fetch_rejects_a_corrupted_file(tmp_path: Path, shared_data: Path, serve) -> None:  # type: ignore[no-untyped-def]
    mirror = tmp_path / "mirror"
    shutil.copytree(shared_data, mirror)
    (mirror / "openb_pod_list_gpushare40.csv").chmod(0o644)
    with (mirror / "openb_pod_list_gpushare40.csv").open("a") as f:
        f.write("extra,1,1,0,0\n")
    with pytest.raises(FetchError, match=r"openb_pod_list_gpushare40\.csv: downloaded file does not match"):
        fetch("openb-2023", tmp_path / "data", base_url=serve(mirror))
    assert not (tmp_path / "data" / "openb_pod_list_gpushare40.csv").exists()


def test_fetch_unreachable_server(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the with block ends: nothing listens there
    with pytest.raises(FetchError, match=r"cannot reach .*offline"):
        fetch("openb-2023", tmp_path, base_url=f"http://127.0.0.1:{port}/", timeout=5)


def test_fetch_missing_file_on_server(tmp_path: Path, serve) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FetchError, match="404"):
        fetch("openb-2023", tmp_path / "data", base_url=serve(empty))


def test_pai_archives_are_unpacked_and_verified(tmp_path: Path, serve, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import tarfile

    from schedlab.trace import fetch as fetching

    spec = Path(__file__).parents[3] / "shared/data/trace-samples/pai-2020/pai_machine_spec.csv"
    if not spec.is_file():
        pytest.skip("needs ../shared/data")
    member, digest = fetching.PAI_2020.extract["pai_machine_spec.tar.gz"]
    assert sha256(spec) == digest  # the checksum schedlab ships is the genuine file's
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    archive = mirror / "pai_machine_spec.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(spec, arcname=member)
    test_set = fetching.Dataset(
        "pai-test", "", {archive.name: sha256(archive)}, "test", {archive.name: (member, digest)}
    )
    monkeypatch.setitem(fetching.DATASETS, "pai-test", test_set)
    dest = tmp_path / "data"
    assert fetch("pai-test", dest, base_url=serve(mirror)) == {archive.name: "downloaded"}
    assert sha256(dest / member) == digest
    (dest / member).write_text("tampered\n")  # unpacked again from the archive kept
    assert fetch("pai-test", dest, base_url=serve(mirror)) == {archive.name: "present"}
    assert sha256(dest / member) == digest
    wrong = fetching.Dataset("pai-bad", "", test_set.files, "test", {archive.name: (member, "0" * 64)})
    monkeypatch.setitem(fetching.DATASETS, "pai-bad", wrong)
    with pytest.raises(FetchError, match="does not match its SHA-256"):
        fetch("pai-bad", tmp_path / "other", base_url=serve(mirror))
    assert not (tmp_path / "other" / member).exists()


def test_pai_fetch_offline_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from tests.test_cli import run_cli

    result = run_cli(
        "data", "fetch", "pai-2020", "--dest", str(tmp_path), "--base-url", f"http://127.0.0.1:{port}/"
    )
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1].startswith("error: cannot reach")
