"""Calibration files: ``calibration/<robot_id>/{intrinsics_<cam>,extrinsics_<cam>,workspace}.yaml``.

Each file states its values with their units and frame names, when it was made, by which method and
tool version, and the residuals the method reported. Loading returns the frozen records of
:mod:`robot_rl.calibration.records`; anything wrong (missing field, wrong unit, non-orthonormal
rotation, malformed YAML) raises :class:`CalibrationFileError` naming the file and the field. A file
older than ``max_age_days`` is still used, with a :class:`CalibrationAgeWarning` that shows its age.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import yaml

from robot_rl.atomic import write_atomic
from robot_rl.calibration.records import (
    CalibrationFieldError,
    CameraExtrinsics,
    CameraIntrinsics,
    Mount,
    Provenance,
    WorkspaceBounds,
    optical_frame,
)

CALIBRATION_DIR_ENV = "ROBOT_RL_CALIBRATION_DIR"
DEFAULT_MAX_AGE_DAYS = 30.0
UNITS = {
    "intrinsics": {"focal": "px", "principal_point": "px", "image_size": "px"},
    "extrinsics": {"translation": "m", "rotation": "matrix"},
    "workspace": {"position": "m"},
}
HEADER = "# robot_rl calibration. Written by `robot-rl calibrate {command}`: re-run it rather than editing values.\n"
R = TypeVar("R")
_TOP_LEVEL = {"camera", "serial", "mount", "frame", "frames", "residuals", "robot_id", "created", "method", "tool"}


class CalibrationFileError(ValueError):
    """A calibration file is unreadable or invalid. The message starts with the file and the field."""

    def __init__(self, path: Path | str, field: str, problem: str) -> None:
        super().__init__(f"{path}: {field}: {problem}")
        self.path = Path(path)
        self.field = field


class CalibrationMissingError(FileNotFoundError):
    """No calibration file where one is needed; the message names the command that makes it."""


class CalibrationAgeWarning(UserWarning):
    """A calibration file is older than the configured maximum age: it is used, but may be stale."""


def calibration_root() -> Path:
    """``$ROBOT_RL_CALIBRATION_DIR`` if set, else the repository's ``calibration/``."""
    return Path(os.environ.get(CALIBRATION_DIR_ENV, Path(__file__).resolve().parents[2] / "calibration"))


def intrinsics_path(robot_id: str, camera: str, root: Path | None = None) -> Path:
    return (root or calibration_root()) / robot_id / f"intrinsics_{camera}.yaml"


def extrinsics_path(robot_id: str, camera: str, root: Path | None = None) -> Path:
    return (root or calibration_root()) / robot_id / f"extrinsics_{camera}.yaml"


def workspace_path(robot_id: str, root: Path | None = None) -> Path:
    return (root or calibration_root()) / robot_id / "workspace.yaml"


def tool_version() -> str:
    import cv2

    import robot_rl

    return f"robot_rl {robot_rl.__version__}, opencv {cv2.__version__}"


def new_provenance(robot_id: str, method: str) -> Provenance:
    return Provenance(robot_id=robot_id, created=datetime.now(timezone.utc).replace(microsecond=0), method=method,
                      tool=tool_version())


# -- writing ------------------------------------------------------------------------------------------------
def _header(kind: str, prov: Provenance, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "robot_id": prov.robot_id, **extra,
            "created": prov.created.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
            "method": prov.method, "tool": prov.tool, "units": dict(UNITS[kind])}


def intrinsics_doc(rec: CameraIntrinsics) -> dict[str, Any]:
    return {**_header("intrinsics", rec.provenance, camera=rec.camera, serial=rec.serial),
            "values": {"width": rec.width, "height": rec.height, "fx": rec.fx, "fy": rec.fy, "cx": rec.cx,
                       "cy": rec.cy, "distortion": list(rec.distortion)},
            "residuals": dict(rec.residuals)}


def extrinsics_doc(rec: CameraExtrinsics) -> dict[str, Any]:
    return {**_header("extrinsics", rec.provenance, camera=rec.camera, mount=rec.mount.value,
                      frames={"parent": rec.parent_frame, "child": rec.child_frame}),
            "values": {"rotation": rec.rotation.tolist(), "translation": rec.translation.tolist()},
            "residuals": dict(rec.residuals)}


def workspace_doc(rec: WorkspaceBounds) -> dict[str, Any]:
    return {**_header("workspace", rec.provenance, frames={"parent": rec.frame}),
            "values": {"low": rec.low.tolist(), "high": rec.high.tolist(), "margin": rec.margin,
                       "corners": rec.corners.tolist()},
            "residuals": dict(rec.residuals)}


def save(rec: CameraIntrinsics | CameraExtrinsics | WorkspaceBounds, root: Path | None = None) -> Path:
    """Write a record to its place under ``root`` (atomically: a crash leaves the old file). Returns the path."""
    robot_id = rec.provenance.robot_id
    if isinstance(rec, CameraIntrinsics):
        path, doc, command = intrinsics_path(robot_id, rec.camera, root), intrinsics_doc(rec), "intrinsics"
    elif isinstance(rec, CameraExtrinsics):
        path, doc, command = extrinsics_path(robot_id, rec.camera, root), extrinsics_doc(rec), "hand-eye"
    else:
        path, doc, command = workspace_path(robot_id, root), workspace_doc(rec), "workspace"
    return write_atomic(path, HEADER.format(command=command) + yaml.safe_dump(doc, sort_keys=False,
                                                                             default_flow_style=None, width=120))


# -- reading ------------------------------------------------------------------------------------------------
class _Doc:
    """A parsed file with field access that names the file and field in every error."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path = path
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise CalibrationFileError(path, "(yaml)", f"not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise CalibrationFileError(path, "(top level)", "must be a mapping of fields")
        self.data = data
        got = self.get("kind", str)
        if got != kind:
            self.fail("kind", f"expected {kind!r}, got {got!r} (wrong file?)")
        units = self.get("units", dict)
        for quantity, unit in UNITS[kind].items():
            if units.get(quantity) != unit:
                self.fail(f"units.{quantity}", f"expected {unit!r}, got {units.get(quantity)!r}: convert the values "
                          f"to {unit} (e.g. millimetres / 1000 = metres)")

    def fail(self, field: str, problem: str):
        raise CalibrationFileError(self.path, field, problem)

    def get(self, dotted: str, kind: type | tuple[type, ...] | None = None) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                self.fail(dotted, "missing")
            node = node[part]
        if kind is not None and not isinstance(node, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self.fail(dotted, f"must be {names}, got {type(node).__name__} {node!r}")
        return node

    def provenance(self) -> Provenance:
        raw = self.get("created", (str, datetime))
        try:
            created = raw if isinstance(raw, datetime) else datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            self.fail("created", f"not an ISO 8601 date and time: {raw!r}")
        return self.build(lambda: Provenance(robot_id=self.get("robot_id", str), created=created,
                                                 method=self.get("method", str), tool=self.get("tool", str)))

    def build(self, make: Callable[[], R]) -> R:
        """Run a record constructor, turning its field errors into file errors (values live under ``values.``)."""
        try:
            return make()
        except CalibrationFieldError as exc:
            top = exc.field.split(".")[0] in _TOP_LEVEL
            self.fail(exc.field if top else f"values.{exc.field}", exc.problem)


def _warn_if_old(path: Path, prov: Provenance, max_age_days: float, now: datetime | None) -> None:
    age = prov.age_days(now)
    if age > max_age_days:
        warnings.warn(f"{path}: calibrated {age:.0f} days ago ({prov.created:%Y-%m-%d}), older than the "
                      f"{max_age_days:g} days allowed (calibration.max_age_days): using it; re-calibrate if the "
                      "camera or robot was moved", CalibrationAgeWarning, stacklevel=3)


def _open(path: Path, kind: str, command: str) -> _Doc:
    if not path.is_file():
        raise CalibrationMissingError(f"no {kind} calibration at {path}: run `robot-rl calibrate {command}`")
    return _Doc(path, kind)


def load_intrinsics(path: Path, max_age_days: float = DEFAULT_MAX_AGE_DAYS,
                    now: datetime | None = None) -> CameraIntrinsics:
    doc = _open(path, "intrinsics", "intrinsics")
    prov = doc.provenance()
    doc.get("values", dict)
    rec = doc.build(lambda: CameraIntrinsics(
        camera=doc.get("camera", str), width=doc.get("values.width", int), height=doc.get("values.height", int),
        fx=doc.get("values.fx", (int, float)), fy=doc.get("values.fy", (int, float)),
        cx=doc.get("values.cx", (int, float)), cy=doc.get("values.cy", (int, float)),
        distortion=tuple(doc.get("values.distortion", list)), provenance=prov,
        residuals=doc.get("residuals", dict), serial=str(doc.data.get("serial", "") or "")))
    _warn_if_old(path, prov, max_age_days, now)
    return rec


def load_extrinsics(path: Path, max_age_days: float = DEFAULT_MAX_AGE_DAYS,
                    now: datetime | None = None) -> CameraExtrinsics:
    doc = _open(path, "extrinsics", "hand-eye")
    prov = doc.provenance()
    camera = doc.get("camera", str)
    mount_name = doc.get("mount", str)
    if mount_name not in {m.value for m in Mount}:
        doc.fail("mount", f"must be one of {[m.value for m in Mount]}, got {mount_name!r}")
    mount = Mount(mount_name)
    for end, want in (("parent", mount.parent_frame), ("child", optical_frame(camera))):
        got = doc.get(f"frames.{end}", str)
        if got != want:
            doc.fail(f"frames.{end}", f"expected {want!r} for a {mount.value} camera {camera!r}, got {got!r}")
    rec = doc.build(lambda: CameraExtrinsics(
        camera=camera, mount=mount, rotation=doc.get("values.rotation", list),
        translation=doc.get("values.translation", list), provenance=prov, residuals=doc.get("residuals", dict)))
    _warn_if_old(path, prov, max_age_days, now)
    return rec


def load_workspace(path: Path, max_age_days: float = DEFAULT_MAX_AGE_DAYS,
                   now: datetime | None = None) -> WorkspaceBounds:
    doc = _open(path, "workspace", "workspace")
    prov = doc.provenance()
    rec = doc.build(lambda: WorkspaceBounds(
        low=doc.get("values.low", list), high=doc.get("values.high", list),
        margin=doc.get("values.margin", (int, float)), corners=doc.get("values.corners", list), provenance=prov,
        residuals=doc.get("residuals", dict), frame=doc.get("frames.parent", str)))
    _warn_if_old(path, prov, max_age_days, now)
    return rec
