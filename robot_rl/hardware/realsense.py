"""Intel RealSense cameras through librealsense (``pyrealsense2``) behind the :class:`Camera` interface.

One capture thread per camera keeps only the newest frame (cropped and resized to the policy's size,
depth aligned to colour when enabled) with its host arrival time (``time.monotonic()``) and the
device's hardware timestamp. A depth frame is served only with the colour frame of its own instant
(hardware timestamps within half a frame period): librealsense's syncer lets unmatched pairs through
when frames arrive late (seen on playback under load), and such a pair is dropped (``frames_dropped``),
never served. ``read_latest(max_age_s)`` never returns old data: it raises
:class:`StaleFrameError`. No frames for ``camera.reconnect_s`` counts as unplugged: the thread reports
it (``status``), and keeps restarting the pipeline until the camera is back, without restarting the
stack. A recording (``camera.playback``) replaces the device and goes through the same pipeline.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np

from robot_rl.config.schema import CameraConfig
from robot_rl.hardware.camera import Camera, Frame, StaleFrameError
from robot_rl.hardware.deadline import DeadlineExceeded, wait_for
from robot_rl.hardware.errors import DeviceError, DeviceNotFoundError, require
from robot_rl.hardware.image import centre_square, crop_resize

log = logging.getLogger(__name__)

# librealsense is not safe against two pipelines starting/stopping at once (seen: an abort in
# pipeline.stop while another camera's playback pipeline restarted): one at a time, process-wide.
_PIPELINE_LOCK = threading.Lock()


def connected_devices() -> dict[str, str]:
    """Serial number -> "name (firmware X)" of every RealSense librealsense can see now."""
    rs = require("pyrealsense2", "realsense")
    out = {}
    for dev in rs.context().query_devices():
        info = {k: dev.get_info(k) if dev.supports(k) else "?" for k in
                (rs.camera_info.serial_number, rs.camera_info.name, rs.camera_info.firmware_version)}
        out[info[rs.camera_info.serial_number]] = (f"{info[rs.camera_info.name]} "
                                                   f"(firmware {info[rs.camera_info.firmware_version]})")
    return out


class RealSenseCamera(Camera):
    """Lifecycle: ``connect()`` (returns once the first frame arrived) ... ``disconnect()``."""

    def __init__(self, name: str, cfg: CameraConfig, serial: str = "", recording: str | Path | None = None,
                 startup_timeout_s: float = 5.0) -> None:
        self.name = name
        self.cfg = cfg
        self.serial = serial or cfg.serials.get(name, "")
        self.recording = Path(recording) if recording else None
        self.startup_timeout_s = startup_timeout_s
        self.crop = list(cfg.crops.get(name) or centre_square(cfg.capture_width, cfg.capture_height))
        self.status = "disconnected"
        self.reconnects = 0
        self.frames_received = 0  # frames served so far; the newest one's ``index``
        self.frames_dropped = 0  # colour + depth pairs from different instants, not served
        self._rs = None
        self._pipeline = None
        self._align = None
        self._latest: Frame | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # lifecycle -------------------------------------------------------------------------------------------
    def connect(self) -> None:
        self._rs = require("pyrealsense2", "realsense")
        self._check_present()
        self._start_pipeline()
        self._stop.clear()
        self._thread = threading.Thread(target=self._capture, name=f"realsense-{self.name}", daemon=True)
        self._thread.start()
        try:
            wait_for(lambda: self._latest is not None, self.startup_timeout_s, f"camera {self.name}'s first frame")
        except DeadlineExceeded as exc:
            self.disconnect()
            raise DeviceError(f"camera {self.name} ({self._source()}): no frame within {self.startup_timeout_s:g} s. "
                              "Fix: use a USB 3 port/cable and check the resolution/fps is supported") from exc

    def disconnect(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._thread = None
        self._stop_pipeline()
        self._latest = None
        self.status = "disconnected"

    # reading ---------------------------------------------------------------------------------------------
    def read_latest(self, max_age_s: float | None = None) -> Frame:
        max_age = self.cfg.max_age_s if max_age_s is None else max_age_s
        with self._lock:
            frame = self._latest
        if frame is None:
            raise StaleFrameError(f"camera {self.name}: no frame yet ({self.status})")
        age = time.monotonic() - frame.stamp
        if age > max_age:
            raise StaleFrameError(f"camera {self.name}: newest frame is {age:.3f} s old (> {max_age:g} s; "
                                  f"{self.status})")
        return frame

    # internals -------------------------------------------------------------------------------------------
    def _source(self) -> str:
        return f"recording {self.recording}" if self.recording else f"serial {self.serial}"

    def _check_present(self) -> None:
        if self.recording is not None:
            if not self.recording.is_file():
                raise DeviceNotFoundError(f"camera {self.name}: recording {self.recording} not found")
            return
        devices = connected_devices()
        if self.serial not in devices:
            listed = ", ".join(f"{s} ({n})" for s, n in devices.items()) or "none"
            raise DeviceNotFoundError(f"camera {self.name}: RealSense serial {self.serial!r} is not connected; "
                                      f"connected: {listed}. Fix: set camera.serials.{self.name} to one of them, "
                                      "or plug the camera in (robot-rl doctor lists them)")

    def _start_pipeline(self) -> None:
        rs = self._rs
        c = self.cfg
        config = rs.config()
        if self.recording is not None:
            config.enable_device_from_file(str(self.recording), repeat_playback=False)
        else:
            config.enable_device(self.serial)
        config.enable_stream(rs.stream.color, c.capture_width, c.capture_height, rs.format.rgb8, c.fps)
        if c.depth:
            config.enable_stream(rs.stream.depth, c.capture_width, c.capture_height, rs.format.z16, c.fps)
        pipeline = rs.pipeline()
        with _PIPELINE_LOCK:
            try:
                profile = pipeline.start(config)
            except RuntimeError as exc:
                raise DeviceError(f"camera {self.name} ({self._source()}): cannot stream {c.capture_width}x"
                                  f"{c.capture_height} @ {c.fps} fps: {exc}") from exc
            if self.recording is not None:
                profile.get_device().as_playback().set_real_time(True)
        self._align = rs.align(rs.stream.color) if c.depth else None
        self._pipeline = pipeline
        self.status = "streaming"

    def _stop_pipeline(self) -> None:
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            with _PIPELINE_LOCK:
                try:
                    pipeline.stop()
                except RuntimeError as exc:
                    log.debug("camera %s: stop: %s", self.name, exc)

    def _capture(self) -> None:
        timeout_ms = int(self.cfg.reconnect_s * 1000)
        while not self._stop.is_set():
            pipeline = self._pipeline
            if pipeline is None or not self._serve(pipeline, timeout_ms):
                self._reconnect()  # no librealsense frame is referenced here any more

    def _serve(self, pipeline, timeout_ms: int) -> bool:
        """Wait for one frameset and serve it (unless its colour and depth are from different instants);
        False when none came within ``timeout_ms``."""
        ok, frames = pipeline.try_wait_for_frames(timeout_ms)
        if not ok:
            return False
        arrival = time.monotonic()
        size = (self.cfg.width, self.cfg.height)
        color = frames.get_color_frame()
        if not color:
            return True
        if self._align is not None:
            d = frames.get_depth_frame()
            if not d or abs(d.get_timestamp() - color.get_timestamp()) > 500.0 / self.cfg.fps:
                self.frames_dropped += 1
                self.status = f"streaming; dropped {self.frames_dropped} colour/depth pairs from different instants"
                return True
            frames = self._align.process(frames)
            color = frames.get_color_frame()
        # np.array: a copy, so no served frame refers to librealsense's memory (crop_resize may return a view)
        image = np.array(crop_resize(np.asanyarray(color.get_data()), self.crop, size))
        depth = None
        if self._align is not None:
            d = frames.get_depth_frame()
            depth = np.array(crop_resize(np.asanyarray(d.get_data()), self.crop, size, nearest=True))
        index = self.frames_received + 1
        frame = Frame(image=image, stamp=arrival, index=index, depth=depth, hw_stamp_ms=float(color.get_timestamp()))
        with self._lock:
            self._latest = frame
        self.status = "streaming"
        self.frames_received = index  # after _latest: the served frame is never older than this count
        return True

    def _reconnect(self) -> None:
        """No frames: report the camera as lost, then retry until it is back (or we are stopped)."""
        self.status = f"lost: no frames for {self.cfg.reconnect_s:g} s; reconnecting"
        log.warning("camera %s (%s): %s", self.name, self._source(), self.status)
        self._stop_pipeline()
        while not self._stop.is_set():
            try:
                self._check_present()
                self._start_pipeline()
                self.reconnects += 1
                log.warning("camera %s: reconnected", self.name)
                return
            except DeviceError as exc:
                self.status = f"lost: {exc}"
                self._stop.wait(self.cfg.reconnect_s)


def open_cameras(cfg: CameraConfig) -> dict[str, RealSenseCamera]:
    """Connect every camera of the config, checking first that each is present: a serial that is not
    connected fails here, before anything streams, with the list of serials that are."""
    cams = {name: RealSenseCamera(name, cfg, recording=cfg.playback.get(name)) for name in cfg.names}
    for cam in cams.values():
        if cam.recording is None:
            cam._check_present()
    started: list[RealSenseCamera] = []
    try:
        for cam in cams.values():
            cam.connect()
            started.append(cam)
    except BaseException:
        for cam in started:
            cam.disconnect()
        raise
    return cams
