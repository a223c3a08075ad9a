"""Replay a recorded episode in the MuJoCo twin and measure how well the twin tracks it.

Two modes (``robot-rl replay``, ``robot-rl video``):

- **joint**: set the arm to the recorded joint positions (``obs/joints``) row by row, kinematics only.
  The simulated EE is then the twin's forward kinematics of the recorded joints, so the tracking
  error against the recorded EE pose checks the kinematic model and the TCP offset (a calibration
  check on real-robot episodes; ~0 on sim episodes).
- **action**: start from the recorded initial state and re-execute the recorded (executed) actions
  open loop through the same safety layer and differential IK. A sim episode of seed ``s`` replays
  in the scene of ``env.reset(s)`` and must reproduce its recording; a real-robot episode replays
  with the arm only (no task objects), starting from its recorded joints (or, without joints, from
  its recorded EE pose through IK).

Episodes with ``seed >= 0`` are sim episodes unless ``arm_only`` is asked for. The replay env must be
built with the task settings the episode was recorded with; :attr:`ReplayResult.initial_offset_m`
says how far the replayed start is from the recorded one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import mujoco
import numpy as np

from robot_rl.config.schema import Config
from robot_rl.data.layout import EpisodeMeta
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import JOINTS_KEY, STATE_KEY, stored_image_key
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.scene import SIM_CAMERAS
from robot_rl.spec import STATE_DIM, image_key

MODES = ("joint", "action")
SIGNAL_KEYS = ("action", "intervened", "reward", "success", "terminated", "truncated", "t_obs", "t_action")
_FAR = np.array([5.0, 5.0, 0.5])  # where arm-only replays park the task objects, out of reach and out of view


class ReplayInputError(ValueError):
    """A replay that cannot be done as asked; the message says what the store does have."""


@dataclass(frozen=True)
class RecordedEpisode:
    """One episode's rows as replay needs them: ``cols[key]`` is ``(T, *shape)``."""

    index: int
    meta: EpisodeMeta
    cols: dict[str, np.ndarray]
    cameras: tuple[str, ...]  # image keys loaded: ``cols[obs/images/<cam>]``

    @property
    def length(self) -> int:
        return len(self.cols[STATE_KEY])

    @property
    def state(self) -> np.ndarray:
        """``(T, 10) float32`` recorded EE position, rotation columns x and y, gripper width."""
        return self.cols[STATE_KEY]

    @property
    def joints(self) -> np.ndarray | None:
        """``(T, 7) float32`` recorded arm joint positions, or None (a store without ``obs/joints``)."""
        return self.cols.get(JOINTS_KEY)

    def images(self, camera: str) -> np.ndarray:
        return self.cols[stored_image_key(camera)]


def load_episode(store: ReplayStore, episode: int, *, cameras: Sequence[str] = (),
                 need_joints: bool = False) -> RecordedEpisode:
    """Read episode ``episode`` (negative counts from the end) with the keys replay needs.

    Raises :class:`ReplayInputError` for an index out of range, a camera the store lacks, joints asked
    for in a store without ``obs/joints``, or a state that is not robot_rl's EE-pose layout."""
    n, schema = store.n_episodes, store.schema
    if not -n <= episode < n:
        have = f"episodes 0..{n - 1}" if n else "no committed episodes"
        raise ReplayInputError(f"episode {episode} is out of range: {store.path} holds {have}")
    episode %= n
    missing = [c for c in cameras if c not in schema.cameras]
    if missing:
        raise ReplayInputError(f"camera {missing[0]!r} is not in {store.path}; its cameras: "
                               f"{', '.join(schema.cameras) or '(none)'}")
    if need_joints and JOINTS_KEY not in schema.fields:
        raise ReplayInputError(
            f"{store.path} has no joint positions ({JOINTS_KEY}): joint-space replay is impossible; "
            f"its rows hold {', '.join(schema.keys)}. Use the action-space replay (--mode action).")
    if schema.state_dim != STATE_DIM:
        raise ReplayInputError(f"{store.path}: obs/state has {schema.state_dim} values, not the {STATE_DIM}-value "
                               "EE pose + gripper layout that replay compares (hardware/robot.py)")
    keys = [STATE_KEY, *SIGNAL_KEYS, *(stored_image_key(c) for c in cameras)]
    if JOINTS_KEY in schema.fields:
        keys.append(JOINTS_KEY)
    keys += [k for k in ("help_score", "help_level") if k in schema.fields]  # shown in the video when recorded
    cols = store.read_episode(episode, keys)
    return RecordedEpisode(episode, store.episode_meta(episode), cols, tuple(cameras))


# ------------------------------------------------------------------------------------- errors
def rotations(state: np.ndarray) -> np.ndarray:
    """``(T, 10)`` states -> ``(T, 3, 3)`` EE rotations (columns x, y from the state; z = x cross y)."""
    x, y = state[:, 3:6].astype(np.float64), state[:, 6:9].astype(np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    y = y - (x * y).sum(axis=1, keepdims=True) * x
    y = y / np.linalg.norm(y, axis=1, keepdims=True)
    return np.stack([x, y, np.cross(x, y)], axis=2)


@dataclass(frozen=True)
class TrackingError:
    """Per-row differences between the recorded and the simulated EE: position (m), rotation angle
    (rad), gripper width (m), each ``(T,)``."""

    position: np.ndarray
    rotation: np.ndarray
    gripper: np.ndarray

    @classmethod
    def between(cls, recorded: np.ndarray, simulated: np.ndarray) -> TrackingError:
        rec, sim = np.asarray(recorded, np.float64), np.asarray(simulated, np.float64)
        rel = np.einsum("tji,tjk->tik", rotations(rec), rotations(sim))  # R_rec^T R_sim
        cos = np.clip((np.trace(rel, axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0)
        return cls(position=np.linalg.norm(rec[:, :3] - sim[:, :3], axis=1), rotation=np.arccos(cos),
                   gripper=np.abs(rec[:, 9] - sim[:, 9]))

    def summary(self) -> dict[str, float]:
        """Millimetres and degrees: mean / max / final position error, mean / max rotation, mean gripper."""
        mm, deg = 1000.0 * self.position, np.degrees(self.rotation)
        return {"pos_mean_mm": float(mm.mean()), "pos_max_mm": float(mm.max()), "pos_final_mm": float(mm[-1]),
                "rot_mean_deg": float(deg.mean()), "rot_max_deg": float(deg.max()),
                "gripper_mean_mm": float(1000.0 * self.gripper.mean())}


@dataclass
class ReplayResult:
    mode: str  # "joint" | "action"
    scene: str  # "seeded" (the episode's env.reset(seed)) | "arm-only"
    episode: int
    recorded: np.ndarray  # (T, 10) recorded states
    simulated: np.ndarray  # (T, 10) replayed states
    frames: dict[str, np.ndarray] = field(default_factory=dict)  # camera -> (T, H, W, 3) uint8 rendered
    notes: list[str] = field(default_factory=list)

    @property
    def error(self) -> TrackingError:
        return TrackingError.between(self.recorded, self.simulated)

    @property
    def initial_offset_m(self) -> float:
        return float(self.error.position[0])

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "scene": self.scene, "episode": self.episode, "steps": len(self.recorded),
                "initial_offset_mm": 1000.0 * self.initial_offset_m, **self.error.summary(), "notes": self.notes}


# ------------------------------------------------------------------------------------ replayer
class EpisodeReplayer:
    """A :class:`PickPlaceEnv` for replays: renders ``cameras`` (sim camera names, at ``image_hw``) or
    nothing. Use as a context manager."""

    def __init__(self, cfg: Config, cameras: Sequence[str] = (), image_hw: tuple[int, int] | None = None) -> None:
        unknown = [c for c in cameras if c not in SIM_CAMERAS]
        if unknown:
            raise ReplayInputError(f"camera {unknown[0]!r} has no simulated twin; the simulation has cameras "
                                   f"{', '.join(SIM_CAMERAS)}")
        h, w = image_hw or (cfg.camera.height, cfg.camera.width)
        cam_cfg = dataclasses.replace(cfg.camera, names=list(cameras), height=h, width=w)
        self.cfg = dataclasses.replace(cfg, camera=cam_cfg)
        self.cameras = tuple(cameras)
        self.env = PickPlaceEnv(self.cfg)
        self._cube_gravcomp = float(self.env.world.model.body_gravcomp[self.env.world.cube_body])

    def close(self) -> None:
        self.env.close()

    def __enter__(self) -> EpisodeReplayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def replay(self, ep: RecordedEpisode, mode: str, *, arm_only: bool = False) -> ReplayResult:
        if mode not in MODES:
            raise ReplayInputError(f"replay mode {mode!r}: use one of {', '.join(MODES)}")
        if mode == "joint" and ep.joints is None:
            raise ReplayInputError("this episode has no joint positions (obs/joints): joint-space replay is "
                                   f"impossible; it has {', '.join(sorted(ep.cols))}")
        scene = "seeded" if ep.meta.seed >= 0 and not arm_only else "arm-only"
        self._start(ep, scene)
        first = self._observe()
        obs = [first]
        if mode == "joint":
            for t in range(1, ep.length):
                self._set_joints(ep.joints[t], float(ep.state[t, 9]))
                obs.append(self._observe())
        else:
            for t in range(ep.length - 1):
                next_obs, *_ = self.env.step(ep.cols["action"][t])
                obs.append({k: v for k, v in next_obs.items()})
        result = ReplayResult(mode, scene, ep.index, ep.state, np.stack([o["state"] for o in obs]),
                              {c: np.stack([o[image_key(c)] for o in obs]) for c in self.cameras})
        if scene == "seeded" and result.initial_offset_m > 1e-3:
            result.notes.append(
                f"the replay starts {1000 * result.initial_offset_m:.1f} mm from the recorded start: was the episode "
                "recorded with other task settings? Pass the same overrides (e.g. task=...) to replay it.")
        elif scene == "seeded" and mode == "action" and max(result.error.position.max(),
                                                             result.error.gripper.max()) > 1e-4:
            result.notes.append(
                "a seeded sim episode replays exactly when the task settings match; this one drifts (EE up to "
                f"{1000 * result.error.position.max():.2f} mm, gripper up to {1000 * result.error.gripper.max():.1f} "
                "mm): pass the overrides it was recorded with (e.g. task=...)")
        return result

    # -- internals -------------------------------------------------------------------------------
    def _start(self, ep: RecordedEpisode, scene: str) -> None:
        env, w = self.env, self.env.world
        w.model.body_gravcomp[w.cube_body] = self._cube_gravcomp
        if scene == "seeded":
            env.reset(ep.meta.seed)
            return
        env.reset(0)
        w.data.qpos[w.cube_qadr:w.cube_qadr + 3] = _FAR
        w.model.body_gravcomp[w.cube_body] = 1.0  # parked in the air, out of view: arm state only
        w.data.mocap_pos[w.target_mocap] = _FAR
        width = float(ep.state[0, 9])
        if ep.joints is not None:
            self._set_joints(ep.joints[0], width)
            w.data.ctrl[w.arm_act] = ep.joints[0]
        else:
            mat = rotations(ep.state[:1])[0]
            env.robot.place(ep.state[0, :3].astype(np.float64), mat, gripper=self._gripper_command(width))
        w.set_gripper(self._gripper_command(width))
        w.data.qvel[:] = 0.0
        mujoco.mj_forward(w.model, w.data)

    def _gripper_command(self, width: float) -> float:
        return float(np.clip(1.0 - 2.0 * width / self.cfg.robot.gripper_max_width, -1.0, 1.0))

    def _set_joints(self, joints: np.ndarray, gripper_width: float) -> None:
        w = self.env.world
        w.data.qpos[w.arm_qadr] = joints
        w.data.qpos[w.finger_qadr] = gripper_width / 2.0
        mujoco.mj_forward(w.model, w.data)

    def _observe(self) -> dict[str, np.ndarray]:
        for cam in self.env.cameras.values():
            cam.invalidate()  # the state may have been set without time advancing
        return self.env.observe()


def replay_episode(cfg: Config, store: ReplayStore, episode: int, modes: Sequence[str] = MODES, *,
                   cameras: Sequence[str] = (), arm_only: bool = False) -> list[ReplayResult]:
    """Load and replay one episode in each of ``modes``, rendering ``cameras`` (store camera names)."""
    ep = load_episode(store, episode, cameras=cameras, need_joints="joint" in modes)
    with EpisodeReplayer(cfg, cameras, store.schema.image_hw) as replayer:
        return [replayer.replay(ep, m, arm_only=arm_only) for m in modes]
