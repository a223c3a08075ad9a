"""The MuJoCo twin of the arm behind the same :class:`Robot` interface as the real Franka.

``send_action`` runs the same safety clipping as hardware, turns the EE delta into a pose target
(relative to where the TCP is now, so a blocked arm never winds up), solves differential IK for the
joint position servos, and advances physics by one control period.
"""

from __future__ import annotations

import mujoco
import numpy as np

from robot_rl.control.safety import SafetyLimits
from robot_rl.hardware.robot import Robot, RobotState, SentCommand
from robot_rl.sim.ik import DifferentialIK
from robot_rl.sim.scene import ARM_JOINTS
from robot_rl.sim.world import SimWorld


def mat_to_quat(mat: np.ndarray) -> np.ndarray:
    """(3, 3) -> (4,) w, x, y, z with w >= 0 (one sign per rotation, so observations are unique)."""
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, np.asarray(mat, dtype=np.float64).flatten())
    return -quat if quat[0] < 0 else quat


class MujocoRobot(Robot):
    def __init__(self, world: SimWorld, limits: SafetyLimits) -> None:
        self.world = world
        self.limits = limits
        self.ik = DifferentialIK(world.model, "tcp", ARM_JOINTS, world.q_home)
        self.connected = False

    def connect(self) -> None:
        self.connected = True

    def disconnect(self) -> None:
        self.connected = False

    def read_state(self) -> RobotState:
        w = self.world
        pos, mat = w.tcp_pose()
        return RobotState(ee_pos=pos, ee_quat=mat_to_quat(mat), gripper_width=w.gripper_width(),
                          joint_pos=w.data.qpos[w.arm_qadr].copy(), joint_vel=w.data.qvel[w.arm_dofadr].copy(),
                          stamp=w.time, ee_mat=mat)

    def send_action(self, action: np.ndarray) -> SentCommand:
        pos, mat = self.world.tcp_pose()
        cmd = self.limits.command(action, pos, mat)
        self._servo_to(cmd.target_pos, cmd.target_mat)
        self.world.set_gripper(cmd.gripper)
        self.world.step_control_period()
        return SentCommand(action=cmd.action, target_pos=cmd.target_pos, target_quat=mat_to_quat(cmd.target_mat),
                           gripper=cmd.gripper, clip=cmd.clip)

    def stop(self) -> None:
        """Hold the current joint positions (the servos' targets become where the arm is)."""
        w = self.world
        w.data.ctrl[w.arm_act] = w.data.qpos[w.arm_qadr]

    def place(self, pos: np.ndarray, mat: np.ndarray, gripper: float = -1.0) -> None:
        """Simulation only: put the arm at a TCP pose instantly (for resets), servos holding it."""
        w = self.world
        q = self.ik.solve(w.data.qpos, pos, mat, iters=100, tol=1e-6)
        w.data.qpos[w.arm_qadr] = q
        w.data.qvel[w.arm_dofadr] = 0.0
        w.data.ctrl[w.arm_act] = q
        w.data.qpos[w.finger_qadr] = (1.0 - gripper) / 2.0 * w.cfg.robot.gripper_max_width / 2.0
        w.set_gripper(gripper)

    def _servo_to(self, target_pos: np.ndarray, target_mat: np.ndarray) -> None:
        w = self.world
        w.data.ctrl[w.arm_act] = self.ik.solve(w.data.qpos, target_pos, target_mat)
