"""RealSense ``.db3`` recordings: write one from arrays (librealsense's software device + recorder),
record one from a real camera, and describe one. The camera backend plays them back through the very
same librealsense pipeline it uses for devices, so tests and bug reports need no camera.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robot_rl.hardware.errors import DeviceNotFoundError, require

SYNTHETIC_FIRMWARE = "5.16.0.1"


@dataclass(frozen=True)
class RecordingInfo:
    serial: str
    name: str
    firmware: str
    streams: tuple[str, ...]  # e.g. ("color 640x480 rgb8 @30", "depth 640x480 z16 @30")
    frames: int  # colour frames the playback pipeline delivered (its syncer may drop a few)
    duration_s: float


def _intrinsics(rs, width: int, height: int):
    intr = rs.intrinsics()
    intr.width, intr.height, intr.ppx, intr.ppy = width, height, width / 2, height / 2
    intr.fx = intr.fy = float(width)
    intr.model = rs.distortion.none
    intr.coeffs = [0.0] * 5
    return intr


def _video_stream(rs, kind, uid: int, width: int, height: int, fps: int, fmt, bpp: int):
    vs = rs.video_stream()
    vs.type, vs.index, vs.uid = kind, 0, uid
    vs.width, vs.height, vs.fps, vs.bpp, vs.fmt = width, height, fps, bpp, fmt
    vs.intrinsics = _intrinsics(rs, width, height)
    return vs


def write_recording(path: str | Path, color: np.ndarray, depth: np.ndarray | None = None, fps: int = 30,
                    serial: str = "000000000000", name: str = "Intel RealSense D435 (synthetic)") -> Path:
    """Write ``color`` (N, H, W, 3) uint8 RGB (and ``depth`` (N, H, W) uint16, 1 mm units) as a recording
    of a camera with serial number ``serial``; frame i has hardware timestamp i / fps seconds."""
    rs = require("pyrealsense2", "realsense")
    color = np.ascontiguousarray(color, dtype=np.uint8)
    n, height, width, _ = color.shape
    path = Path(path)
    path.unlink(missing_ok=True)
    dev = rs.software_device()
    dev.register_info(rs.camera_info.serial_number, serial)
    dev.register_info(rs.camera_info.name, name)
    dev.register_info(rs.camera_info.firmware_version, SYNTHETIC_FIRMWARE)
    sensors = [(dev.add_sensor("RGB Camera"), rs.stream.color, rs.format.rgb8, 3, color)]
    if depth is not None:
        sensors.append((dev.add_sensor("Stereo Module"), rs.stream.depth, rs.format.z16, 2,
                        np.ascontiguousarray(depth, dtype=np.uint16)))
    profiles = []
    for uid, (sensor, kind, fmt, bpp, _) in enumerate(sensors):
        profiles.append(sensor.add_video_stream(_video_stream(rs, kind, uid, width, height, fps, fmt, bpp)))
        if kind == rs.stream.depth:
            sensor.add_read_only_option(rs.option.depth_units, 0.001)
    recorder = rs.recorder(str(path), dev)
    try:
        for (sensor, *_), profile in zip(sensors, profiles, strict=True):
            sensor.open(profile)
            sensor.start(rs.frame_queue(4))
        for i in range(n):
            for (sensor, _, _, bpp, data), profile in zip(sensors, profiles, strict=True):
                frame = rs.software_video_frame()
                frame.pixels = data[i].tobytes()
                frame.bpp, frame.stride = bpp, width * bpp
                frame.timestamp = i * 1000.0 / fps
                frame.domain = rs.timestamp_domain.hardware_clock
                frame.frame_number = i
                frame.profile = profile.as_video_stream_profile()
                sensor.on_video_frame(frame)
        for sensor, *_ in sensors:
            sensor.stop()
            sensor.close()
    finally:
        del recorder  # closes the file
    return path


def record_from_device(serial: str, path: str | Path, seconds: float, width: int = 640, height: int = 480,
                       fps: int = 30, depth: bool = False) -> int:
    """Record a real camera to ``path`` for ``seconds``; returns the number of colour frames seen."""
    rs = require("pyrealsense2", "realsense")
    from robot_rl.hardware.realsense import connected_devices

    devices = connected_devices()
    if serial not in devices:
        raise DeviceNotFoundError(f"no RealSense with serial {serial!r}; connected: "
                                  f"{', '.join(f'{s} ({n})' for s, n in devices.items()) or 'none'}")
    cfg = rs.config()
    cfg.enable_device(serial)
    cfg.enable_stream(rs.stream.color, width, height, rs.format.rgb8, fps)
    if depth:
        cfg.enable_stream(rs.stream.depth, width, height, rs.format.z16, fps)
    cfg.enable_record_to_file(str(path))
    pipeline = rs.pipeline()
    pipeline.start(cfg)
    frames = 0
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ok, _ = pipeline.try_wait_for_frames(1000)
            frames += int(ok)
    finally:
        pipeline.stop()
    return frames


def recording_info(path: str | Path) -> RecordingInfo:
    """Play a recording through as fast as possible and describe it."""
    rs = require("pyrealsense2", "realsense")
    if not Path(path).is_file():
        raise FileNotFoundError(f"no recording at {path}")
    cfg = rs.config()
    cfg.enable_device_from_file(str(path), repeat_playback=False)
    pipeline = rs.pipeline()
    recorded = pipeline.start(cfg).get_streams()  # what the file holds; frames flow only for enabled streams
    pipeline.stop()
    for s in recorded:
        v = s.as_video_stream_profile()
        cfg.enable_stream(s.stream_type(), v.width(), v.height(), s.format(), s.fps())
    profile = pipeline.start(cfg)
    try:
        dev = profile.get_device()
        dev.as_playback().set_real_time(False)

        def info(key) -> str:
            return dev.get_info(key) if dev.supports(key) else ""

        streams = tuple(f"{s.stream_type().name} {v.width()}x{v.height()} {s.format().name} @{s.fps()}"
                        for s in profile.get_streams() for v in [s.as_video_stream_profile()])
        frames, first, last = 0, None, None
        while True:
            ok, fs = pipeline.try_wait_for_frames(500)
            if not ok:
                break
            c = fs.get_color_frame()
            if c:
                frames += 1
                first = c.get_timestamp() if first is None else first
                last = c.get_timestamp()
        duration = 0.0 if first is None else (last - first) / 1000.0
        return RecordingInfo(serial=info(rs.camera_info.serial_number), name=info(rs.camera_info.name),
                             firmware=info(rs.camera_info.firmware_version), streams=streams, frames=frames,
                             duration_s=duration)
    finally:
        pipeline.stop()
