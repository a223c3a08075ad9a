"""The row schema: which fields one control step stores, with their per-row shapes and dtypes.

A row is one control step (docs/architecture.md §2). Time is axis 0 in the store, so a field of
per-row shape ``S`` is stored as an array of shape ``(T, *S)``:

==========================  ===============  =========  =================================================
key                         per-row shape    dtype      meaning
==========================  ===============  =========  =================================================
``obs/images/<cam>``        ``(H, W, 3)``    uint8      camera frame at ``t_obs``
``obs/state``               ``(D,)``         float32    proprioception (EE pose, gripper, ...)
``obs/joints``              ``(J,)``         float32    arm joint positions (rad); only when ``joints_dim > 0``
``action``                  ``(A,)``         float32    executed action (human's while intervening)
``base_action``             ``(A,)``         float32    frozen BC base output
``residual_action``         ``(A,)``         float32    residual actor output (before scaling)
``policy_action``           ``(A,)``         float32    what the policy wanted (base + scaled residual)
``intervened``              ``()``           bool       the human commanded this step
``reward``                  ``()``           float32    reward as recorded (relabelled by the sampler)
``success``                 ``()``           bool       this step reached success
``terminated``              ``()``           bool       this step ended the episode in a terminal state
``truncated``               ``()``           bool       this step ended the episode without a terminal
``t_obs``                   ``()``           float64    monotonic capture time of the observation (s)
``t_action``                ``()``           float64    monotonic time the action was sent (s)
``help_score``              ``()``           float32    the help gate's score (>= 1 asked; NaN: not judged)
``help_level``              ``()``           int8       the gate's verdict: 0 normal, 1 caution (slower), 2 ask
``success_prob``            ``()``           float32    the reward classifier's P(success) on this row's frame
                                                        (NaN: not judged: a stale or missing frame)
``success_detected``        ``()``           bool       the classifier's streak of frames reached success here
``success_label``           ``()``           int8       what this row's frame shows: 1 success, 0 not (yet),
                                                        -1 unlabelled (the twin's check, or the person's keys)
==========================  ===============  =========  =================================================

Row ``t`` describes the transition from its observation to the observation of row ``t + 1``:
``action``, ``reward``, ``success``, ``terminated`` and ``truncated`` of row ``t`` belong to that
step (gym's ``step`` order). The last row of an episode carries only its final observation; its
action and flags are not used as a transition.

``obs/joints`` is optional (``joints_dim=0``: absent): stores written before it existed, and camera-less
feature caches, have no joint positions. Replay in joint space needs them (``robot-rl replay``).

``help_score`` and ``help_level`` are optional both ways (``help=True`` adds them): a row without them gets NaN
and 0 (demonstrations, the human alone), and a store without them (written before they existed) takes rows that
have them, without them, so an older store can still be appended to. The reward fields (``reward=True``) are
optional the same way (defaults NaN, False, -1). Unlike ``success`` (of the step *to* the next row), they describe
the row's own frame, which is what the classifier sees and learns from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robot_rl.data.errors import RowError
from robot_rl.spec import ACTION_DIM, JOINTS, STATE
from robot_rl.spec import IMAGE_PREFIX as OBS_IMAGE_PREFIX

IMAGE_PREFIX = f"obs/{OBS_IMAGE_PREFIX}"  # the store keeps the observation under obs/
STATE_KEY = f"obs/{STATE}"
JOINTS_KEY = f"obs/{JOINTS}"
ACTION_KEYS = ("action", "base_action", "residual_action", "policy_action")
FLAG_KEYS = ("intervened", "success", "terminated", "truncated")
TIME_KEYS = ("t_obs", "t_action")
HELP_KEYS = ("help_score", "help_level")
REWARD_KEYS = ("success_prob", "success_detected", "success_label")
OPTIONAL = {"help_score": np.float32("nan"), "help_level": np.int8(0),  # filled in when absent, dropped when unknown
            "success_prob": np.float32("nan"), "success_detected": np.bool_(False), "success_label": np.int8(-1)}
_FLOAT_MAX = {np.dtype(t): float(np.finfo(t).max) for t in (np.float32, np.float64)}


@dataclass(frozen=True)
class FieldSpec:
    """One stored field: ``shape`` is per row (without the time axis)."""

    key: str
    shape: tuple[int, ...]
    dtype: np.dtype
    finite: bool  # refuse NaN / inf (float fields)

    def accepts_dtype(self, dtype: np.dtype) -> bool:
        """uint8 images must be uint8 exactly; float fields take any int or float; int fields any int; flags
        take bool."""
        if self.dtype == np.uint8:
            return dtype == np.uint8
        if self.dtype.kind == "f":
            return dtype.kind in "fiu"
        if self.dtype.kind == "i":
            return dtype.kind in "iu"
        return dtype.kind == "b"


def _scalar(key: str, spec: FieldSpec, value: Any) -> Any:
    """A per-row scalar given as a Python or numpy scalar -> numpy scalar of the stored dtype."""
    if isinstance(value, (bool, np.bool_)):
        given = np.dtype(bool)
    elif isinstance(value, (int, np.integer)):
        given = np.dtype(np.int64)
    elif isinstance(value, (float, np.floating)):
        given = np.dtype(np.float64)
    else:
        raise RowError(key, f"expected a scalar of dtype {spec.dtype}, got {type(value).__name__}")
    if not spec.accepts_dtype(given):
        raise RowError(key, f"dtype {type(value).__name__}, expected {spec.dtype}")
    if spec.finite and not abs(float(value)) <= _FLOAT_MAX[spec.dtype]:  # False for NaN too
        raise RowError(key, f"contains NaN or inf (or overflows {spec.dtype}): {value}")
    return spec.dtype.type(value)


def stored_image_key(camera: str) -> str:
    """The store's column of a camera's frames: ``obs/images/<camera>``."""
    return f"{IMAGE_PREFIX}{camera}"


@dataclass(frozen=True)
class RowSchema:
    """Fields of a row, built from the camera names, image size, state and action dimensions.

    ``cameras=()`` is allowed: a cache of precomputed features keeps them as ``obs/state``.
    ``joints_dim > 0`` adds ``obs/joints`` (arm joint positions)."""

    cameras: tuple[str, ...]
    image_hw: tuple[int, int] = (128, 128)
    state_dim: int = 18
    action_dim: int = 7
    joints_dim: int = 0
    help: bool = False
    reward: bool = False  # the reward classifier's fields (success_prob, success_detected, success_label)
    fields: dict[str, FieldSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        cams = tuple(self.cameras)
        if len(set(cams)) != len(cams) or any(not c or "/" in c for c in cams):
            raise ValueError(f"camera names must be unique, non-empty and without '/': {cams}")
        if self.state_dim < 1 or self.action_dim < 1 or min(self.image_hw) < 1 or self.joints_dim < 0:
            raise ValueError(f"bad dimensions: image {self.image_hw}, state {self.state_dim}, "
                             f"action {self.action_dim}")
        object.__setattr__(self, "cameras", cams)
        object.__setattr__(self, "image_hw", tuple(int(v) for v in self.image_hw))
        h, w = self.image_hw
        f32, b = np.dtype(np.float32), np.dtype(bool)
        specs = [FieldSpec(stored_image_key(c), (h, w, 3), np.dtype(np.uint8), False) for c in cams]
        specs.append(FieldSpec(STATE_KEY, (self.state_dim,), f32, True))
        if self.joints_dim:
            specs.append(FieldSpec(JOINTS_KEY, (self.joints_dim,), f32, True))
        specs += [FieldSpec(k, (self.action_dim,), f32, True) for k in ACTION_KEYS]
        specs.append(FieldSpec("reward", (), f32, True))
        specs += [FieldSpec(k, (), b, False) for k in FLAG_KEYS]
        specs += [FieldSpec(k, (), np.dtype(np.float64), True) for k in TIME_KEYS]
        if self.help:
            specs += [FieldSpec("help_score", (), f32, False), FieldSpec("help_level", (), np.dtype(np.int8), False)]
        if self.reward:
            specs += [FieldSpec("success_prob", (), f32, False), FieldSpec("success_detected", (), b, False),
                      FieldSpec("success_label", (), np.dtype(np.int8), False)]
        object.__setattr__(self, "fields", {s.key: s for s in sorted(specs, key=lambda s: s.key)})

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.fields)

    @property
    def image_keys(self) -> tuple[str, ...]:
        return tuple(stored_image_key(c) for c in self.cameras)

    @property
    def row_nbytes(self) -> int:
        """Bytes of one uncompressed row (~98 KB with two 128x128 cameras)."""
        return sum(int(np.prod(s.shape, dtype=np.int64)) * s.dtype.itemsize for s in self.fields.values())

    def validate(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Check one row and return private copies in the stored dtypes (arrays, or numpy scalars for
        per-row scalars). Runs on the control thread, so it is lean (~30 us for a default row).

        Raises :class:`RowError` naming the key for a missing or unknown key, a wrong shape or dtype,
        or a NaN / inf in a float field. Copies, because callers reuse their camera buffers."""
        if len(row) != len(self.fields) or any(k not in row for k in self.fields):
            row = self._optional(row)
        if len(row) != len(self.fields) or any(k not in row for k in self.fields):
            missing = [k for k in self.fields if k not in row]
            if missing:
                raise RowError(missing[0], f"missing from the row (missing keys: {missing})")
            unknown = sorted(k for k in row if k not in self.fields)
            raise RowError(unknown[0], f"not a field of this store (known: {list(self.fields)})")
        out: dict[str, Any] = {}
        for key, spec in self.fields.items():
            value = row[key]
            if not spec.shape and not isinstance(value, np.ndarray):
                out[key] = _scalar(key, spec, value)
                continue
            if type(value) is not np.ndarray:
                value = np.asarray(value)
            if value.shape != spec.shape:
                raise RowError(key, f"shape {value.shape}, expected {spec.shape}")
            if value.dtype != spec.dtype:
                if not spec.accepts_dtype(value.dtype):
                    raise RowError(key, f"dtype {value.dtype}, expected {spec.dtype}")
                value = value.astype(spec.dtype)
            else:
                value = value.copy()
            if spec.finite and not np.isfinite(value).all():
                raise RowError(key, f"contains NaN or inf: {value}")
            out[key] = value
        return out

    def _optional(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The row with the optional fields this schema has filled in, and those it lacks dropped."""
        out = {k: v for k, v in row.items() if k in self.fields or k not in OPTIONAL}
        for k, default in OPTIONAL.items():
            if k in self.fields and k not in out:
                out[k] = default
        return out

    def same_but_optional(self, other: RowSchema) -> bool:
        """Equal but for the optional help and reward fields (a store written before them takes this schema's
        rows)."""
        plain = {"help": False, "reward": False}
        return self.to_json() | plain == other.to_json() | plain

    def validate_columns(self, cols: Mapping[str, np.ndarray]) -> int:
        """Check a block of rows ``{key: (T, *shape)}`` (as imported or written in bulk); returns T."""
        lengths = set()
        for key, spec in self.fields.items():
            if key not in cols:
                raise RowError(key, "missing from the columns")
            arr = np.asarray(cols[key])
            if arr.shape[1:] != spec.shape:
                raise RowError(key, f"per-row shape {arr.shape[1:]}, expected {spec.shape}")
            if not spec.accepts_dtype(arr.dtype):
                raise RowError(key, f"dtype {arr.dtype}, expected {spec.dtype}")
            if spec.finite and not np.isfinite(arr).all():
                raise RowError(key, "contains NaN or inf")
            lengths.add(arr.shape[0])
        unknown = sorted(set(cols) - set(self.fields))
        if unknown:
            raise RowError(unknown[0], f"not a field of this store (known: {list(self.fields)})")
        if len(lengths) != 1:
            raise RowError("*", f"columns differ in length: {sorted(lengths)}")
        return lengths.pop()

    def empty_columns(self, n: int) -> dict[str, np.ndarray]:
        """Uninitialised ``{key: (n, *shape)}`` arrays in the stored dtypes."""
        return {k: np.empty((n, *s.shape), dtype=s.dtype) for k, s in self.fields.items()}

    def to_json(self) -> dict[str, Any]:
        out = {"cameras": list(self.cameras), "image_hw": list(self.image_hw),
               "state_dim": self.state_dim, "action_dim": self.action_dim}
        if self.joints_dim:  # absent otherwise, so stores without joints keep their exact attributes
            out["joints_dim"] = self.joints_dim
        if self.help:
            out["help"] = True
        if self.reward:
            out["reward"] = True
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RowSchema:
        return cls(cameras=tuple(data["cameras"]), image_hw=tuple(data["image_hw"]),  # type: ignore[arg-type]
                   state_dim=int(data["state_dim"]), action_dim=int(data["action_dim"]),
                   joints_dim=int(data.get("joints_dim", 0)), help=bool(data.get("help", False)),
                   reward=bool(data.get("reward", False)))

    @classmethod
    def from_camera_config(cls, camera: Any, state_dim: int, action_dim: int = ACTION_DIM,
                           joints_dim: int = 0, help: bool = False, reward: bool = False) -> RowSchema:
        """From a :class:`~robot_rl.config.schema.CameraConfig` (names, height, width)."""
        return cls(cameras=tuple(camera.names), image_hw=(camera.height, camera.width),
                   state_dim=state_dim, action_dim=action_dim, joints_dim=joints_dim, help=help, reward=reward)
