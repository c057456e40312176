"""A local stand-in for the Hugging Face Hub's file endpoints, for `ca models pull` tests.

Serves `/{owner}/{repo}/resolve/{revision}/{filename}` (HEAD and GET with Range) for the
files it is given, with the headers huggingface_hub reads (X-Repo-Commit, ETag,
X-Linked-Etag with the LFS sha256, X-Linked-Size). `cut_after` makes the first GET stop
after that many bytes and every request after it fail with 503 until `outage` is cleared,
to test resuming in a later `ca models pull`; `requests` records what was asked.
"""

from __future__ import annotations

import hashlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

COMMIT = "0123456789abcdef0123456789abcdef01234567"
RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")


class FakeHub:
    def __init__(self, files: dict[tuple[str, str], bytes], cut_after: int | None = None) -> None:
        self.files = files
        self.cut_after = cut_after
        self.requests: list[tuple[str, str, str]] = []  # method, path, Range header
        self.bad_sha: set[str] = set()  # filenames whose advertised sha256 is wrong
        self.outage = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                self._serve(body=False)

            def do_GET(self) -> None:
                self._serve(body=True)

            def _serve(self, body: bool) -> None:
                hub.requests.append((self.command, self.path, self.headers.get("Range", "")))
                if hub.outage:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                match = RESOLVE.match(self.path.split("?")[0])
                data = hub.files.get((match["repo"], match["file"])) if match else None
                if data is None:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                sha = hashlib.sha256(data).hexdigest()
                if match and match["file"] in hub.bad_sha:
                    sha = "f" * 64
                start = 0
                ranged = self.headers.get("Range", "")
                if ranged.startswith("bytes="):
                    start = int(ranged[6:].split("-")[0] or 0)
                payload = data[start:]
                self.send_response(206 if start else 200)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{sha}"')
                self.send_header("X-Linked-Etag", f'"{sha}"')
                self.send_header("X-Linked-Size", str(len(data)))
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Type", "application/octet-stream")
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if not body:
                    return
                if hub.cut_after is not None and not start:
                    cut, hub.cut_after = hub.cut_after, None
                    hub.outage = True
                    self.wfile.write(payload[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(payload)

        return Handler
