"""Record a RealSense camera to a .db3 file, so a problem can be reproduced without the robot
(play it back with camera.playback.<name>=FILE), or describe a recording with --info.

  robot-rl record-camera --camera wrist --seconds 10 --out wrist.db3 camera=realsense_pair
  robot-rl record-camera --info wrist.db3
"""

from __future__ import annotations

import argparse
import sys

from robot_rl.config import Config
from robot_rl.hardware.errors import DeviceError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--camera", default="", help="camera name whose serial camera.serials gives")
    parser.add_argument("--serial", default="", help="serial number (instead of --camera)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to record")
    parser.add_argument("--out", default="camera.db3", help="output .db3 file")
    parser.add_argument("--info", default="", metavar="FILE", help="describe a recording instead of recording")


def run(args: argparse.Namespace, cfg: Config) -> int:
    from robot_rl.hardware.realsense_recording import record_from_device, recording_info

    try:
        if args.info:
            info = recording_info(args.info)
            print(f"{args.info}: {info.name}, serial {info.serial}, firmware {info.firmware}")
            print(f"streams: {', '.join(info.streams)}")
            print(f"{info.frames} colour frames over {info.duration_s:.2f} s")
            return 0
        serial = args.serial or cfg.camera.serials.get(args.camera, "")
        if not serial:
            print(f"robot-rl record-camera: give --serial or --camera (one of {list(cfg.camera.serials)})",
                  file=sys.stderr)
            return 2
        c = cfg.camera
        n = record_from_device(serial, args.out, args.seconds, c.capture_width, c.capture_height, c.fps, c.depth)
        print(f"wrote {args.out}: {n} frames from {serial}")
        return 0
    except (DeviceError, FileNotFoundError) as exc:
        print(f"robot-rl record-camera: {exc}", file=sys.stderr)
        return 1
