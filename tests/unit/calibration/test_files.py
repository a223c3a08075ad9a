"""Calibration files: round trips, and bad input named by file and field; old files warn with their age."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import yaml

from robot_rl.calibration.files import (
    CalibrationAgeWarning,
    CalibrationFileError,
    CalibrationMissingError,
    extrinsics_path,
    load_extrinsics,
    load_intrinsics,
    load_workspace,
    new_provenance,
    save,
)
from robot_rl.calibration.records import CalibrationFieldError, CameraExtrinsics, CameraIntrinsics, Mount
from robot_rl.calibration.transforms import rotvec_to_mat
from robot_rl.calibration.workspace import record_workspace


def _ext(mount=Mount.eye_in_hand, t=(0.05, 0.0, -0.07)) -> CameraExtrinsics:
    return CameraExtrinsics(camera="wrist", mount=mount, rotation=rotvec_to_mat(np.array([0.1, -0.2, 1.5])),
                            translation=np.array(t), provenance=new_provenance("bot", "test"),
                            residuals={"reprojection_rms_px": 0.12})


def _intr() -> CameraIntrinsics:
    return CameraIntrinsics(camera="wrist", width=640, height=480, fx=600.0, fy=601.0, cx=320.5, cy=240.2,
                            distortion=(0.01, -0.02, 0.0, 0.0, 0.0), provenance=new_provenance("bot", "test"),
                            residuals={"reprojection_rms_px": 0.2}, serial="123")


def test_round_trips(tmp_path):
    ext, intr = _ext(), _intr()
    ws = record_workspace(np.array([[0.3, -0.3, 0.0], [0.7, 0.3, 0.4]]), 0.02, "bot", "test")
    back_ext = load_extrinsics(save(ext, tmp_path))
    back_intr = load_intrinsics(save(intr, tmp_path))
    back_ws = load_workspace(save(ws, tmp_path))
    np.testing.assert_array_equal(back_ext.T, ext.T)
    assert back_ext.parent_frame == "tcp" and back_ext.child_frame == "wrist_optical"
    assert back_intr == intr
    np.testing.assert_allclose(back_ws.low, [0.32, -0.28, 0.02])
    np.testing.assert_allclose(back_ws.high, [0.68, 0.28, 0.38])
    assert back_ext.provenance.created == ext.provenance.created
    assert "opencv" in back_ext.provenance.tool


def _edit(path, fn):
    doc = yaml.safe_load(path.read_text())
    fn(doc)
    path.write_text(yaml.safe_dump(doc))


@pytest.mark.parametrize(("edit", "field", "words"), [
    (lambda d: d["units"].update(translation="mm"), "units.translation", "expected 'm', got 'mm'"),
    (lambda d: d["values"]["rotation"][0].__setitem__(0, 1.1), "values.rotation", "not orthonormal"),
    (lambda d: d["values"].update(translation=[70.0, 0.0, -70.0]), "values.translation", "metres"),
    (lambda d: d["frames"].update(parent="base"), "frames.parent", "expected 'tcp'"),
    (lambda d: d.pop("created"), "created", "missing"),
    (lambda d: d.update(created="yesterday"), "created", "ISO 8601"),
    (lambda d: d.update(mount="on_the_table"), "mount", "eye_in_hand"),
    (lambda d: d["values"].update(rotation=[[1, 0], [0, 1]]), "values.rotation", "shape"),
])
def test_bad_extrinsics_name_file_and_field(tmp_path, edit, field, words):
    path = save(_ext(), tmp_path)
    _edit(path, edit)
    with pytest.raises(CalibrationFileError) as exc:
        load_extrinsics(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: {field}:"), msg
    assert words in msg
    assert exc.value.field == field


def test_reflection_is_not_a_rotation():
    with pytest.raises(CalibrationFieldError, match="reflection"):
        CameraExtrinsics(camera="c", mount=Mount.eye_to_hand, rotation=np.diag([1.0, 1.0, -1.0]),
                         translation=np.zeros(3), provenance=new_provenance("bot", "t"))


def test_bad_intrinsics_and_yaml(tmp_path):
    path = save(_intr(), tmp_path)
    _edit(path, lambda d: d["values"].update(fx=0.0))
    with pytest.raises(CalibrationFileError, match=r"values\.fx: 0\.0 px is not a plausible focal length"):
        load_intrinsics(path)
    path.write_text("kind: intrinsics\n  bad: [indent")
    with pytest.raises(CalibrationFileError, match=r"\(yaml\): not valid YAML"):
        load_intrinsics(path)
    with pytest.raises(CalibrationMissingError, match="robot-rl calibrate hand-eye"):
        load_extrinsics(extrinsics_path("bot", "nope", tmp_path))


def test_old_file_is_used_with_a_warning_showing_its_age(tmp_path):
    path = save(_ext(), tmp_path)
    later = datetime.now(timezone.utc) + timedelta(days=45)
    with pytest.warns(CalibrationAgeWarning, match=r"calibrated 45 days ago .* older than the 30 days"):
        rec = load_extrinsics(path, max_age_days=30, now=later)
    np.testing.assert_array_equal(rec.T, _ext().T)


def test_records_are_frozen():
    ext = _ext()
    with pytest.raises(ValueError, match="read-only"):
        ext.rotation[0, 0] = 2.0
    with pytest.raises(AttributeError):
        ext.camera = "other"  # type: ignore[misc]
