"""Build the simulated cell as one MuJoCo model: FR3 arm + Panda hand, table, cube, target, cameras.

The arm comes from franky-sim's MJCF (position servos per joint, a tendon-driven gripper). We add
gravity compensation on the arm links (a real Franka compensates gravity in its controller, so a
servo holding "where it is" must not sag), a tool-centre-point site, the task objects, a wrist and a
front camera, and cheap lighting. For 128x128 images the arm is drawn with its coarse collision
meshes (~3 ms per frame in software GL instead of ~45 ms for the 240k-triangle visual meshes).
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from robot_rl.config.schema import CameraConfig, RenderGeoms, RobotConfig, TaskConfig
from robot_rl.sim.assets import fr3_model_path

ARM_JOINTS = tuple(f"fr3_joint{i}" for i in range(1, 8))
FINGER_JOINTS = ("finger_joint1", "finger_joint2")
TCP_OFFSET = 0.1034  # flange-to-fingertip-centre distance of the Panda hand along its z axis (m)
VISUAL_GROUP, COLLISION_GROUP = 2, 3
TABLE_HALF = (0.45, 0.6, 0.025)
TABLE_CENTER_XY = (0.45, 0.0)

# Colours of the coarse arm geometry (rendered instead of the textured visual meshes).
_LINK_RGBA = (0.92, 0.92, 0.93, 1.0)
_DARK_RGBA = (0.25, 0.25, 0.27, 1.0)
_DARK_BODIES = {"fr3_link0", "fr3_link7", "left_finger", "right_finger"}


@dataclass(frozen=True)
class CameraPlacement:
    """A camera on a body (``"world"`` for a fixed one), looking from ``pos`` at ``target``,
    both in that body's frame; ``up`` picks the image's up direction."""

    body: str
    pos: tuple[float, float, float]
    target: tuple[float, float, float]
    up: tuple[float, float, float]
    fovy: float


# Where the simulated cameras sit. The real ones come from `robot-rl calibrate`.
SIM_CAMERAS: dict[str, CameraPlacement] = {
    "wrist": CameraPlacement("hand", (0.07, 0.0, 0.03), (0.0, 0.0, 0.17), (1.0, 0.0, 0.0), 75.0),
    "front": CameraPlacement("world", (1.0, 0.45, 0.55), (0.45, 0.0, 0.1), (0.0, 0.0, 1.0), 50.0),
}


def lookat_quat(pos, target, up) -> np.ndarray:
    """Quaternion (w, x, y, z) of a MuJoCo camera at ``pos`` looking at ``target`` (camera -z)."""
    fwd = np.asarray(target, float) - np.asarray(pos, float)
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, up)
    right /= np.linalg.norm(right)
    cam_up = np.cross(right, fwd)
    mat = np.column_stack([right, cam_up, -fwd])
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, mat.flatten())
    return quat


def _simplify_arm_geometry(spec: mujoco.MjSpec) -> None:
    """Drop the visual meshes and draw the collision meshes instead (group 1 is rendered by default)."""
    for geom in list(spec.geoms):
        if geom.group == VISUAL_GROUP:
            spec.delete(geom)
    for geom in spec.geoms:
        if geom.group == COLLISION_GROUP:
            geom.group = 1
            geom.rgba = _DARK_RGBA if geom.parent.name in _DARK_BODIES else _LINK_RGBA
            geom.material = ""
    used = {g.meshname for g in spec.geoms if g.type == mujoco.mjtGeom.mjGEOM_MESH}
    for mesh in list(spec.meshes):
        if mesh.name not in used:
            spec.delete(mesh)


def _stiffen_gripper(spec: mujoco.MjSpec) -> None:
    """The shipped gripper servo pushes ~2 N against ~1 N of joint friction: it crawls and barely
    holds a cube. Scale its stiffness 10x (about 20 N of grip on a 4 cm cube; a real Franka Hand
    grips with up to 70 N) and give the fingers the light friction of a geared slide."""
    hand = spec.actuator("hand")
    gain, stiffness, damping = 10.0 * hand.gainprm[0], 10.0 * hand.biasprm[1], 3.0 * hand.biasprm[2]
    hand.gainprm[0] = gain
    hand.biasprm[1] = stiffness
    hand.biasprm[2] = damping
    for name in FINGER_JOINTS:
        spec.joint(name).frictionloss = 0.05


def _add_cameras(spec: mujoco.MjSpec, camera: CameraConfig) -> None:
    for name in camera.names:
        if name not in SIM_CAMERAS:
            raise ValueError(f"camera.names: no simulated placement for camera {name!r}; "
                             f"the sim knows {sorted(SIM_CAMERAS)}")
        place = SIM_CAMERAS[name]
        body = spec.worldbody if place.body == "world" else spec.body(place.body)
        body.add_camera(name=name, pos=list(place.pos), quat=lookat_quat(place.pos, place.target, place.up),
                        fovy=place.fovy)


def _add_task_objects(spec: mujoco.MjSpec, task: TaskConfig) -> None:
    world = spec.worldbody
    world.add_geom(name="table", type=mujoco.mjtGeom.mjGEOM_BOX, size=list(TABLE_HALF),
                   pos=[*TABLE_CENTER_XY, -TABLE_HALF[2]], rgba=[0.62, 0.52, 0.40, 1.0])
    world.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[3, 3, 0.1], pos=[0, 0, -0.75],
                   rgba=[0.35, 0.37, 0.40, 1.0], contype=0, conaffinity=0)
    h = task.cube_half_size
    cube = world.add_body(name="cube", pos=[0.5, 0.0, h])
    cube.add_freejoint(name="cube_joint")
    cube.add_geom(name="cube", type=mujoco.mjtGeom.mjGEOM_BOX, size=[h, h, h], mass=task.cube_mass,
                  rgba=[0.85, 0.15, 0.12, 1.0], condim=4, friction=[1.5, 0.02, 0.002])
    target = world.add_body(name="target", pos=[0.5, 0.15, 0.0], mocap=True)
    target.add_geom(name="target", type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.03, 0.03, 0.0008],
                    pos=[0, 0, 0.0008], rgba=[0.15, 0.7, 0.25, 1.0], contype=0, conaffinity=0)


def build_spec(task: TaskConfig, robot: RobotConfig, camera: CameraConfig) -> mujoco.MjSpec:
    path = fr3_model_path()
    spec = mujoco.MjSpec.from_file(str(path))
    spec.meshdir = str(path.parent / "meshes")
    spec.option.timestep = robot.physics_dt
    for key in list(spec.keys):  # the arm-only keyframe no longer fits once the cube exists
        spec.delete(key)
    if camera.render_geoms == RenderGeoms.collision:
        _simplify_arm_geometry(spec)
    for body in spec.bodies:
        if body.name.startswith("fr3_link") or body.name in ("hand", "left_finger", "right_finger"):
            body.gravcomp = 1.0
    _stiffen_gripper(spec)
    spec.body("hand").add_site(name="tcp", pos=[0, 0, TCP_OFFSET], size=[0.005, 0.005, 0.005], group=4)
    _add_task_objects(spec, task)
    _add_cameras(spec, camera)
    spec.worldbody.add_light(name="sun", pos=[0.5, 0.0, 2.0], dir=[0, 0, -1], castshadow=False,
                             diffuse=[0.7, 0.7, 0.7], type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL)
    spec.visual.quality.shadowsize = 0
    spec.visual.quality.offsamples = 0
    spec.visual.headlight.ambient = [0.35, 0.35, 0.35]
    spec.visual.headlight.diffuse = [0.4, 0.4, 0.4]
    spec.visual.global_.offwidth = max(camera.width, 640)
    spec.visual.global_.offheight = max(camera.height, 480)
    return spec


def home_joint_positions() -> np.ndarray:
    """The arm's home configuration, from the model's own ``home`` keyframe. (7,) float64."""
    spec = mujoco.MjSpec.from_file(str(fr3_model_path()))
    return np.asarray(spec.key("home").qpos, dtype=np.float64)[:7]


def build_model(task: TaskConfig, robot: RobotConfig, camera: CameraConfig) -> mujoco.MjModel:
    return build_spec(task, robot, camera).compile()
