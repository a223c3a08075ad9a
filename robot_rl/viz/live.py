"""Live view of a running actor in a web browser: its cameras, the action and who is driving.

Off by default; ``robot-rl act --live-port 8765`` turns it on, then open http://127.0.0.1:8765/.
A :class:`LiveDecider` wraps the actor's decider: after each decision it composes one frame (cameras
side by side, the step, who acted, the action as bars, a red border while the human drives) and hands
it to a :class:`LiveView`, which serves the newest frame over HTTP from its own threads:

- ``GET /``            a page showing the stream
- ``GET /stream.mjpg`` MJPEG (multipart JPEG), one part per new frame
- ``GET /frame.jpg``   the newest frame
- ``GET /state.json``  the newest step: ``{"seed", "step", "intervened", "action", "frames"}``

The control tick only composes the frame (~1 ms) and swaps a reference; JPEG encoding and the
network happen in the server's threads, and a slow or absent viewer never slows the actor.
Binds to 127.0.0.1 unless ``host`` says otherwise (there is no authentication).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cv2
import numpy as np

from robot_rl.viz.episode_video import GREEN, RED, framed, info_panel, tile_image

_PAGE = b"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>robot_rl live</title></head>
<body style="margin:0;background:#1c1c20;color:#ddd;font-family:sans-serif">
<p style="margin:8px">robot_rl actor, live</p><img src="/stream.mjpg" alt="live stream"></body></html>"""


class LiveView:
    """An HTTP server of the newest frame. Lifecycle: :meth:`start` ... :meth:`stop` (or ``with``)."""

    def __init__(self, port: int = 8765, host: str = "127.0.0.1", quality: int = 80) -> None:
        self.host, self.port, self.quality = host, port, quality
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None  # (H, W, 3) uint8 RGB
        self._state: dict[str, Any] = {"frames": 0}
        self._stopping = False
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self) -> LiveView:
        view = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet: the actor's console is for episodes
                pass

            def do_GET(self) -> None:  # http.server's name for it
                view._serve(self)

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]  # port 0: the one the OS picked
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-view", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LiveView:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def update(self, frame: np.ndarray, **state: Any) -> None:
        """Publish a new frame (kept by reference: do not modify it afterwards) and its step state."""
        with self._cond:
            self._frame = frame
            self._state = {**state, "frames": self._state["frames"] + 1}
            self._cond.notify_all()

    # -- server side ----------------------------------------------------------------------------
    def _jpeg(self, frame: np.ndarray) -> bytes:
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return buf.tobytes()

    def _send(self, h: BaseHTTPRequestHandler, body: bytes, ctype: str, status: int = 200) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Cache-Control", "no-store")
        h.end_headers()
        h.wfile.write(body)

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        with self._cond:
            frame, state = self._frame, dict(self._state)
        if h.path == "/":
            self._send(h, _PAGE, "text/html; charset=utf-8")
        elif h.path == "/state.json":
            self._send(h, json.dumps(state).encode(), "application/json")
        elif h.path == "/frame.jpg":
            if frame is None:
                self._send(h, b"no frame yet", "text/plain", 503)
            else:
                self._send(h, self._jpeg(frame), "image/jpeg")
        elif h.path == "/stream.mjpg":
            self._stream(h)
        else:
            self._send(h, b"not found: try /, /stream.mjpg, /frame.jpg, /state.json", "text/plain", 404)

    def _stream(self, h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        h.send_header("Cache-Control", "no-store")
        h.end_headers()
        seen = -1
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda last=seen: self._stopping or self._state["frames"] != last, timeout=1.0)
                    if self._stopping:
                        return
                    frame, seen = self._frame, self._state["frames"]
                if frame is None:
                    continue
                jpg = self._jpeg(frame)
                h.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                              + str(len(jpg)).encode() + b"\r\n\r\n" + jpg + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            return  # the viewer went away


def live_frame(obs: Mapping[str, np.ndarray], action: np.ndarray, intervened: bool, step: int, seed: int,
               version: int, tile: int = 256) -> np.ndarray:
    """Cameras of ``obs`` side by side over the info panel, framed red while the human drives."""
    cams = sorted(k for k in obs if k.startswith("images/"))
    h, w = obs[cams[0]].shape[:2]
    size = (max(2, round(w * tile / h)), tile)
    row = np.concatenate([tile_image(obs[k], size, k.removeprefix("images/")) for k in cams], axis=1)
    panel = info_panel(row.shape[1], (f"seed {seed}  step {step}", f"weights v{version}"),
                       "HUMAN" if intervened else "policy", RED if intervened else GREEN, action)
    return framed(np.concatenate([row, panel], axis=0), intervened)


class LiveDecider:
    """Wraps a decider (see :mod:`robot_rl.sim.harness.episodes`): decides as it does, and shows each step live."""

    def __init__(self, inner: Any, view: LiveView, version: Any = lambda: -1, tile: int = 256) -> None:
        self.inner, self.view, self.version, self.tile = inner, view, version, tile
        self.seed, self.step = -1, 0

    @property
    def human(self) -> Any:  # run_episode counts the take-overs of the decider's human
        return getattr(self.inner, "human", None)

    def reset(self, seed: int) -> None:
        self.inner.reset(seed)
        self.seed, self.step = seed, 0

    def __call__(self, obs: Mapping[str, np.ndarray]) -> Any:
        d = self.inner(obs)
        if any(k.startswith("images/") for k in obs):
            frame = live_frame(obs, d.action, d.intervened, self.step, self.seed, self.version(), self.tile)
            self.view.update(frame, seed=self.seed, step=self.step, intervened=bool(d.intervened),
                             action=[float(v) for v in d.action])
        self.step += 1
        return d
