"""Differential inverse kinematics: EE pose target -> arm joint targets for the position servos.

Damped least squares on the 6x7 site Jacobian, with a null-space pull towards a rest posture so the
redundant seventh degree of freedom does not drift over long episodes. Runs on a scratch ``MjData``
so the simulation state is never touched.
"""

from __future__ import annotations

import mujoco
import numpy as np


def rotation_error(target_mat: np.ndarray, current_mat: np.ndarray) -> np.ndarray:
    """World-frame rotation vector taking ``current`` to ``target`` (both (3, 3)). (3,)"""
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, (target_mat @ current_mat.T).flatten())
    vel = np.zeros(3)
    mujoco.mju_quat2Vel(vel, quat, 1.0)
    return vel


def rotvec_to_mat(rotvec: np.ndarray) -> np.ndarray:
    """(3,) axis-angle -> (3, 3) rotation matrix."""
    angle = float(np.linalg.norm(rotvec))
    quat = np.array([1.0, 0.0, 0.0, 0.0])
    if angle > 1e-12:
        mujoco.mju_axisAngle2Quat(quat, rotvec / angle, angle)
    mat = np.zeros(9)
    mujoco.mju_quat2Mat(mat, quat)
    return mat.reshape(3, 3)


class DifferentialIK:
    def __init__(self, model: mujoco.MjModel, site: str, joints: tuple[str, ...], q_rest: np.ndarray,
                 damping: float = 0.05, nullspace_gain: float = 0.2) -> None:
        self.model = model
        self.data = mujoco.MjData(model)
        self.site_id = model.site(site).id
        jids = [model.joint(j).id for j in joints]
        self.qadr = np.array([model.jnt_qposadr[j] for j in jids])
        self.dofadr = np.array([model.jnt_dofadr[j] for j in jids])
        self.q_low = model.jnt_range[jids, 0]
        self.q_high = model.jnt_range[jids, 1]
        self.q_rest = np.asarray(q_rest, dtype=np.float64)
        self.damping = damping
        self.nullspace_gain = nullspace_gain
        self._jacp = np.zeros((3, model.nv))
        self._jacr = np.zeros((3, model.nv))

    def site_pose(self, qpos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forward kinematics of the site for a full ``qpos``: position (3,), rotation (3, 3)."""
        self.data.qpos[:] = qpos
        mujoco.mj_kinematics(self.model, self.data)
        return self.data.site_xpos[self.site_id].copy(), self.data.site_xmat[self.site_id].reshape(3, 3).copy()

    def solve(self, qpos: np.ndarray, target_pos: np.ndarray, target_mat: np.ndarray, iters: int = 4,
              tol: float = 1e-4) -> np.ndarray:
        """Arm joint positions (7,) that bring the site to the target, starting from full ``qpos``."""
        m, d = self.model, self.data
        d.qpos[:] = qpos
        q = d.qpos[self.qadr].copy()
        eye = np.eye(len(q))
        for _ in range(iters):
            mujoco.mj_kinematics(m, d)
            mujoco.mj_comPos(m, d)
            err = np.concatenate([target_pos - d.site_xpos[self.site_id],
                                  rotation_error(target_mat, d.site_xmat[self.site_id].reshape(3, 3))])
            if np.linalg.norm(err) < tol:
                break
            mujoco.mj_jacSite(m, d, self._jacp, self._jacr, self.site_id)
            jac = np.vstack([self._jacp[:, self.dofadr], self._jacr[:, self.dofadr]])
            jjt = jac @ jac.T + (self.damping**2) * np.eye(6)
            dq = jac.T @ np.linalg.solve(jjt, err)
            pinv = jac.T @ np.linalg.solve(jjt, np.eye(6))
            dq += (eye - pinv @ jac) @ (self.nullspace_gain * (self.q_rest - q))
            q = np.clip(q + dq, self.q_low, self.q_high)
            d.qpos[self.qadr] = q
        return q
