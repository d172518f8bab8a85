"""vidgate never fetches a remote C2PA manifest: a file whose manifest lives at a URL (a server on
loopback that counts its requests) is reported with that as its error, and the server sees
nothing; c2pa's own defaults would have fetched it (the control)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import c2pa
import pytest

from vidgate.emulator.content_credentials import make_test_identity
from vidgate.emulator.render import render_video
from vidgate.media.provenance import ai_generated_manifest, read_provenance


class _Counting(http.server.ThreadingHTTPServer):
    manifest = b""
    requests: list[str]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Counting

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/c2pa")
        self.send_header("Content-Length", str(len(self.server.manifest)))
        self.end_headers()
        self.wfile.write(self.server.manifest)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def manifest_host() -> Iterator[_Counting]:
    server = _Counting(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_a_remote_manifest_is_never_fetched(tmp_path: Path, manifest_host: _Counting) -> None:
    clip, signed = tmp_path / "clip.mp4", tmp_path / "remote.mp4"
    render_video(clip, width=160, height=90, duration_seconds=0.5, audio=False)
    url = f"http://127.0.0.1:{manifest_host.server_port}/manifest.c2pa"
    identity, _ = make_test_identity()
    info = c2pa.C2paSignerInfo(b"es256", identity.certificate_chain, identity.private_key, None)
    manifest = ai_generated_manifest("remote.mp4", model="gen4.5", generator="test")
    with c2pa.Signer.from_info(info) as signer, c2pa.Builder(manifest) as builder:
        builder.set_no_embed()  # the file only points at its manifest
        builder.set_remote_url(url)
        with open(clip, "rb") as source, open(signed, "w+b") as dest:
            manifest_host.manifest = builder.sign(signer, "video/mp4", source, dest)

    report = read_provenance(signed)
    assert report.present and not report.valid and not report.trusted
    assert report.error is not None
    assert report.error.startswith("the manifest is stored elsewhere (a URL), and vidgate")
    assert url in report.error and report.trust_reason == report.error
    assert manifest_host.requests == []

    # The control: c2pa's defaults fetch it from that server, and find it valid.
    with open(signed, "rb") as f, c2pa.Reader("video/mp4", f) as reader:
        assert reader.get_validation_state() == "Valid"
    assert manifest_host.requests == ["/manifest.c2pa"]
