"""A document camera on the network: MJPEG over HTTP on loopback, with faults on command.

Many 高拍仪 and every IP camera can stream ``multipart/x-mixed-replace`` JPEG frames; OpenCV's
FFmpeg backend reads that stream from a URL, so the real :mod:`drivers.opencv_camera` driver
runs unchanged against this simulator (reference §3, "Simulator").

Each part is ``--frame``, ``Content-Type: image/jpeg``, ``Content-Length``, a blank line, the
JPEG and CRLF. Frames come from an image sequence (JPEG files) or, by default, from
:mod:`hardware_sim.document_frames`. Faults (:class:`Fault`):

* ``unplug``: the server closes its socket and every stream, as a camera pulled from the
  hub; :meth:`MjpegCameraSim.plug` brings it back on the same port.
* ``corrupt``: the next frames are garbage between JPEG start and end markers; the stream
  goes on.
* ``slow``: one frame every ``slow_s`` seconds instead of ``fps``.
* ``black``: black frames (lamp off, lens covered).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

#: The one path the simulated camera serves.
STREAM_PATH = "/stream.mjpg"
_BOUNDARY = b"frame"


class Fault(str, Enum):
    """Faults the simulator injects (module docstring)."""

    UNPLUG = "unplug"
    CORRUPT = "corrupt"
    SLOW = "slow"
    BLACK = "black"


class MjpegCameraSim:
    """An MJPEG camera on ``http://127.0.0.1:<port>/stream.mjpg``.

    Args:
        frames: JPEG frames played in a loop; by default three rendered document pages.
        fps: frames per second when no ``slow`` fault stands.
        width: width of rendered and black frames.
        height: height of rendered and black frames.
        port: the port to listen on; 0 picks a free one.
        slow_s: seconds between frames under the ``slow`` fault.
    """

    def __init__(
        self,
        frames: list[bytes] | None = None,
        fps: float = 15.0,
        width: int = 1280,
        height: int = 960,
        port: int = 0,
        slow_s: float = 5.0,
    ) -> None:
        from hardware_sim.document_frames import render_page

        self.frames = frames or [render_page(width, height, n) for n in (1, 2, 3)]
        self.fps = fps
        self.slow_s = slow_s
        self.port = port
        self.frames_sent = 0
        self._black = _black_jpeg(width, height)
        self._corrupt_left = 0
        self._faults: set[Fault] = set()
        self._lock = threading.Lock()
        self._server: _Server | None = None

    @classmethod
    def from_sequence(cls, pattern: str, **options: object) -> MjpegCameraSim:
        """A simulator playing the JPEG files a ``%04d`` pattern names, in order."""
        directory = Path(pattern).parent
        files = sorted(p for p in directory.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
        return cls([p.read_bytes() for p in files], **options)  # type: ignore[arg-type]

    @property
    def url(self) -> str:
        """The stream URL, for ``open_document_camera``."""
        return f"http://127.0.0.1:{self.port}{STREAM_PATH}"

    def start(self) -> None:
        """Listen (on ``port``, or a free port remembered for :meth:`plug`)."""
        self._server = _Server(("127.0.0.1", self.port), _Handler, self)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def inject(self, fault: Fault, count: int = 1) -> None:
        """Inject a fault. ``count`` is the number of corrupt frames for ``corrupt``."""
        with self._lock:
            if fault is Fault.CORRUPT:
                self._corrupt_left += count
            else:
                self._faults.add(fault)
        if fault is Fault.UNPLUG:
            self._stop_server()

    def clear(self, fault: Fault) -> None:
        """Clear a standing fault (``slow``, ``black``); use :meth:`plug` after ``unplug``."""
        with self._lock:
            self._faults.discard(fault)

    def plug(self) -> None:
        """Plug the camera back in: listen again on the same port."""
        with self._lock:
            self._faults.discard(Fault.UNPLUG)
        self.start()

    def close(self) -> None:
        """Stop serving; open streams end."""
        self._stop_server()

    def next_frame(self, index: int) -> tuple[bytes, float]:
        """The frame to send as number ``index`` and the pause after it (the handler's clock)."""
        with self._lock:
            pause = self.slow_s if Fault.SLOW in self._faults else 1.0 / self.fps
            if self._corrupt_left:
                self._corrupt_left -= 1
                return _garbage_jpeg(len(self.frames[0])), pause
            if Fault.BLACK in self._faults:
                return self._black, pause
        return self.frames[index % len(self.frames)], pause

    def _stop_server(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.drop_streams()
            server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type, sim: MjpegCameraSim) -> None:
        self.sim = sim
        self.streams: set[socket.socket] = set()
        self.closing = threading.Event()
        super().__init__(address, handler)

    def drop_streams(self) -> None:
        # A pulled USB cable ends every stream at once, not at the next frame.
        self.closing.set()
        for conn in list(self.streams):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        if self.path.split("?")[0] != STREAM_PATH:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header(
            "Content-Type", f"multipart/x-mixed-replace; boundary={_BOUNDARY.decode()}"
        )
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.server.streams.add(self.connection)
        try:
            self._stream()
        except OSError:
            pass  # the viewer went away, or the camera was unplugged
        finally:
            self.server.streams.discard(self.connection)
            self.close_connection = True

    def _stream(self) -> None:
        sim = self.server.sim
        index = 0
        while not self.server.closing.is_set():
            jpeg, pause = sim.next_frame(index)
            head = b"--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
            self.wfile.write(head % (_BOUNDARY, len(jpeg)) + jpeg + b"\r\n")
            self.wfile.flush()
            sim.frames_sent += 1
            index += 1
            self.server.closing.wait(pause)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _black_jpeg(width: int, height: int) -> bytes:
    import cv2
    import numpy as np

    _, jpeg = cv2.imencode(".jpg", np.zeros((height, width, 3), np.uint8))
    return jpeg.tobytes()


def _garbage_jpeg(size: int) -> bytes:
    # Start and end markers around noise: framing intact, nothing a decoder can use.
    return b"\xff\xd8\xff\xe0" + os.urandom(max(size, 64)).replace(b"\xff", b"\x00") + b"\xff\xd9"


def serve_forever(sim: MjpegCameraSim) -> None:
    """Run a simulator until interrupted (for ``python -m hardware_sim.mjpeg_camera``)."""
    sim.start()
    print(sim.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        sim.close()


if __name__ == "__main__":
    serve_forever(MjpegCameraSim())
