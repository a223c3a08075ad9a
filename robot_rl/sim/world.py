"""The simulated cell's state: one MuJoCo model + data, the ids the robot and task need, and the
renderer the simulated cameras share."""

from __future__ import annotations

import mujoco
import numpy as np

from robot_rl.config.schema import Config
from robot_rl.sim.gl import diagnose
from robot_rl.sim.scene import ARM_JOINTS, FINGER_JOINTS, build_model, home_joint_positions


class SimWorld:
    def __init__(self, cfg: Config, model: mujoco.MjModel | None = None) -> None:
        """``model``: a prebuilt model of the same cell with extras (e.g. a calibration board); default: built
        from ``cfg``."""
        self.cfg = cfg
        self.model = model if model is not None else build_model(cfg.task, cfg.robot, cfg.camera)
        self.data = mujoco.MjData(self.model)
        m = self.model
        self.n_substeps = max(1, round(1.0 / (cfg.task.control_hz * m.opt.timestep)))
        self.arm_qadr = np.array([m.jnt_qposadr[m.joint(j).id] for j in ARM_JOINTS])
        self.arm_dofadr = np.array([m.jnt_dofadr[m.joint(j).id] for j in ARM_JOINTS])
        self.finger_qadr = np.array([m.jnt_qposadr[m.joint(j).id] for j in FINGER_JOINTS])
        self.arm_act = np.array([m.actuator(j).id for j in ARM_JOINTS])
        self.hand_act = m.actuator("hand").id
        self.hand_ctrl_open = float(m.actuator_ctrlrange[self.hand_act, 1])
        self.tcp_site = m.site("tcp").id
        self.cube_body = m.body("cube").id
        cube_joint = m.joint("cube_joint").id
        self.cube_qadr = int(m.jnt_qposadr[cube_joint])
        self.cube_dofadr = int(m.jnt_dofadr[cube_joint])
        self.target_mocap = int(m.body_mocapid[m.body("target").id])
        self.q_home = home_joint_positions()
        self._renderer: mujoco.Renderer | None = None

    @property
    def time(self) -> float:
        return float(self.data.time)

    def step_control_period(self) -> None:
        mujoco.mj_step(self.model, self.data, nstep=self.n_substeps)

    def tcp_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """TCP position (3,) and rotation matrix (3, 3) in the world (= robot base) frame."""
        return (self.data.site_xpos[self.tcp_site].copy(),
                self.data.site_xmat[self.tcp_site].reshape(3, 3).copy())

    def gripper_width(self) -> float:
        return float(self.data.qpos[self.finger_qadr].sum())

    def set_gripper(self, command: float) -> None:
        """``command`` in [-1, 1]: -1 fully open, +1 fully closed."""
        self.data.ctrl[self.hand_act] = self.hand_ctrl_open * (1.0 - command) / 2.0

    def cube_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Cube centre (3,) and quaternion (4,) w, x, y, z."""
        q = self.data.qpos[self.cube_qadr:self.cube_qadr + 7]
        return q[:3].copy(), q[3:].copy()

    def cube_speed(self) -> float:
        return float(np.linalg.norm(self.data.qvel[self.cube_dofadr:self.cube_dofadr + 3]))

    def target_pos(self) -> np.ndarray:
        return self.data.mocap_pos[self.target_mocap].copy()

    def render(self, camera: str) -> np.ndarray:
        """Render one camera at the configured size. (H, W, 3) uint8."""
        if self._renderer is None:
            try:
                self._renderer = mujoco.Renderer(self.model, self.cfg.camera.height, self.cfg.camera.width)
            except Exception as exc:  # GL context creation failures surface as various types
                raise diagnose(exc) from exc
        self._renderer.update_scene(self.data, camera=camera)
        return self._renderer.render()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
