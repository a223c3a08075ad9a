"""ROS 2 bags (rosbag2 with MCAP storage) in and out, with ``rosbags`` (pure Python: no ROS installation).

The topics are the graph's own (``robot_rl_ros.qos``): ``/cameras/<name>/image_raw`` (``sensor_msgs/Image``),
``/robot/joint_states`` (``JointState``: the 7 arm joints, then the gripper width), ``/robot/ee_pose``
(``PoseStamped``), ``/robot/command`` (``JointState`` named dx .. gripper: the action, stamped with the capture
time of the observation it was computed from) and ``/robot/episode`` (``std_msgs/Int64``, the seed, at each
episode start). Our export adds ``/robot_rl/state`` (``Float32MultiArray``: the state vector as recorded, so a
round trip keeps it bit-exact; from a pose and a quaternion it would differ in the last bits).

Import, and the resampling rule: a bag is cut into episodes at its ``/robot/episode`` messages (none: one
episode). Each command is one step when the commands come at the control rate (their median period within 10%
of ``1 / task.control_hz``: a bag the graph recorded); otherwise the steps are ticks every ``1 / control_hz``
from the first command, each taking the latest command at or before it (zero-order hold). A step's observation
is the latest message of every observation topic stamped at or before the step (its header stamp, the capture
time), and the episode ends with the latest observation after its last step. Steps before every topic has
spoken are dropped. The state is ``/robot_rl/state`` when the bag has it, else built from the pose and the
gripper width as the actor node builds it (:func:`robot_rl.spec.proprio`).

Export writes every committed episode: per row, each camera's frame, the joint states (when the store has
``obs/joints``), the pose and the state at the row's capture time, and, for every row but the last, the command
at the time it was sent. Times are the episode's ``wall_start`` plus the row's offset from the episode's first
capture (the store's clock is monotonic; a bag's is the wall clock), moved later where an episode would
overlap the one before (the twin runs faster than real time), so the times do not come back exactly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.control.rotations import mat_to_quat, quat_to_mat
from robot_rl.data import layout as L
from robot_rl.data.bag_repair import has_footer
from robot_rl.data.dp_interop import foreign_episode_columns
from robot_rl.data.errors import StoreError
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import IMAGE_PREFIX, JOINTS_KEY, STATE_KEY, RowSchema
from robot_rl.spec import ACTION_NAMES, JOINTS_DIM, proprio

IMAGE_TOPIC = "/cameras/{name}/image_raw"
JOINTS_TOPIC = "/robot/joint_states"
POSE_TOPIC = "/robot/ee_pose"
COMMAND_TOPIC = "/robot/command"
EPISODE_TOPIC = "/robot/episode"
STATE_TOPIC = "/robot_rl/state"
ARM_JOINTS = tuple(f"fr3_joint{i}" for i in range(1, JOINTS_DIM + 1))
RATE_TOLERANCE = 0.10


def _rosbags():
    try:
        from rosbags.highlevel import AnyReader
        from rosbags.rosbag2 import StoragePlugin, Writer
        from rosbags.typesys import Stores, get_typestore
    except ImportError as exc:  # pragma: no cover - the interop extra installs it
        raise StoreError("ROS 2 bags need rosbags: pip install -e '.[interop]'") from exc
    return AnyReader, Writer, StoragePlugin, get_typestore(Stores.ROS2_JAZZY)


def _stamp(ts: Any, ns: int):
    return ts.types["builtin_interfaces/msg/Time"](sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def _header(ts: Any, ns: int, frame: str = ""):
    return ts.types["std_msgs/msg/Header"](stamp=_stamp(ts, ns), frame_id=frame)


# ---------------------------------------------------------------- export
def export_bag(src: ReplayStore | str | os.PathLike[str], dst: str | os.PathLike[str],
               progress: Callable[[int, int], None] | None = None) -> int:
    """Write the committed episodes of ``src`` as a rosbag2 (MCAP) folder at ``dst``; returns the episodes."""
    _, Writer, StoragePlugin, ts = _rosbags()
    store = src if isinstance(src, ReplayStore) else ReplayStore.open(src, "r")
    schema = store.schema
    T = ts.types
    writer = Writer(Path(dst), version=9, storage_plugin=StoragePlugin.MCAP)
    writer.open()
    try:
        conn = {cam: writer.add_connection(IMAGE_TOPIC.format(name=cam), "sensor_msgs/msg/Image", typestore=ts)
                for cam in schema.cameras}
        conn["pose"] = writer.add_connection(POSE_TOPIC, "geometry_msgs/msg/PoseStamped", typestore=ts)
        conn["state"] = writer.add_connection(STATE_TOPIC, "std_msgs/msg/Float32MultiArray", typestore=ts)
        conn["command"] = writer.add_connection(COMMAND_TOPIC, "sensor_msgs/msg/JointState", typestore=ts)
        conn["episode"] = writer.add_connection(EPISODE_TOPIC, "std_msgs/msg/Int64", typestore=ts)
        if schema.joints_dim:
            conn["joints"] = writer.add_connection(JOINTS_TOPIC, "sensor_msgs/msg/JointState", typestore=ts)

        def put(key: str, ns: int, msg: Any) -> None:
            writer.write(conn[key], ns, ts.serialize_cdr(msg, msg.__msgtype__))

        empty = np.zeros(0, np.float64)
        layout = T["std_msgs/msg/MultiArrayLayout"](dim=[], data_offset=0)
        free = 0  # the bag's time line: an episode starts no earlier than the previous one ended
        for ep in range(store.n_episodes):
            cols, meta = store.read_episode(ep), store.episode_meta(ep)
            base, t0 = max(int(meta.wall_start * 1e9), free), float(cols["t_obs"][0])
            free = base + round((float(max(cols["t_obs"][-1], cols["t_action"][-1])) - t0) * 1e9) + 1_000_000

            def ns(t: float, base: int = base, t0: float = t0) -> int:
                return base + round((float(t) - t0) * 1e9)

            put("episode", ns(t0), T["std_msgs/msg/Int64"](data=int(meta.seed)))
            n = len(cols["t_obs"])
            for i in range(n):
                t = ns(cols["t_obs"][i])
                for cam in schema.cameras:
                    img = np.ascontiguousarray(cols[IMAGE_PREFIX + cam][i])
                    put(cam, t, T["sensor_msgs/msg/Image"](
                        header=_header(ts, t, cam), height=img.shape[0], width=img.shape[1], encoding="rgb8",
                        is_bigendian=0, step=img.shape[1] * 3, data=img.reshape(-1)))
                state = np.asarray(cols[STATE_KEY][i])
                put("state", t, T["std_msgs/msg/Float32MultiArray"](layout=layout, data=state.astype(np.float32)))
                rot = np.stack([state[3:6], state[6:9], np.cross(state[3:6], state[6:9])], axis=1)
                q = mat_to_quat(rot)
                pose = T["geometry_msgs/msg/Pose"](position=T["geometry_msgs/msg/Point"](x=float(state[0]),
                                                   y=float(state[1]), z=float(state[2])),
                                                   orientation=T["geometry_msgs/msg/Quaternion"](
                                                       w=q[0], x=q[1], y=q[2], z=q[3]))
                put("pose", t, T["geometry_msgs/msg/PoseStamped"](header=_header(ts, t, "base"), pose=pose))
                if schema.joints_dim:
                    pos = np.append(np.asarray(cols[JOINTS_KEY][i], np.float64), float(state[-1]))
                    put("joints", t, T["sensor_msgs/msg/JointState"](
                        header=_header(ts, t), name=[*ARM_JOINTS, "gripper_width"], position=pos, velocity=empty,
                        effort=empty))
                if i < n - 1:  # the final observation: no command was sent from it
                    sent = max(ns(cols["t_action"][i]), t)
                    put("command", sent, T["sensor_msgs/msg/JointState"](
                        header=_header(ts, t), name=list(ACTION_NAMES),
                        position=np.asarray(cols["action"][i], np.float64), velocity=empty, effort=empty))
            if progress is not None:
                progress(ep + 1, store.n_episodes)
    finally:
        writer.close()
    return store.n_episodes


# ---------------------------------------------------------------- import
@dataclass
class _Stream:
    """One topic's messages: header stamps (ns, sorted) and the decoded values."""

    t: np.ndarray
    values: list

    def at(self, when: np.ndarray) -> np.ndarray:
        """Index of the latest message stamped at or before each time (-1: none yet)."""
        return np.searchsorted(self.t, when, side="right") - 1


def _image(msg: Any, topic: str) -> np.ndarray:
    h, w, enc = int(msg.height), int(msg.width), str(msg.encoding)
    data = np.asarray(msg.data, np.uint8)
    if enc in ("rgb8", "bgr8"):
        img = data.reshape(h, int(msg.step))[:, : w * 3].reshape(h, w, 3)
        return img[..., ::-1] if enc == "bgr8" else img
    if enc == "mono8":
        return np.repeat(data.reshape(h, int(msg.step))[:, :w, None], 3, axis=2)
    raise StoreError(f"{topic}: image encoding {enc!r} (this reads rgb8, bgr8 and mono8)")


def _ns(header: Any) -> int:
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


def import_bag(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, cameras: Sequence[str] | None = None,
               control_hz: float = 10.0, source: str = "demo", success: bool = True, chunk_len: int = 100,
               action_dim: int | None = None, progress: Callable[[int, int], None] | None = None) -> ReplayStore:
    """Create a store at ``dst`` from the bag ``src`` (a rosbag2 folder, or the folder of a ``.mcap``)."""
    AnyReader, _, _, ts = _rosbags()
    path = Path(src)
    bag = path.parent if path.is_file() else path
    try:
        reader = AnyReader([bag], default_typestore=ts)
        reader.open()
    except Exception as exc:
        if not _has_footer(bag):
            raise StoreError(f"{bag}: its MCAP file ends without an index (was its recorder killed, or the file "
                             f"cut short?); robot-rl buffer repair {bag} DST writes a closed copy with every message "
                             f"before the cut: import that") from None
        raise StoreError(f"{bag}: cannot open this bag ({type(exc).__name__}: {exc}); is it truncated?") from None
    try:
        topics = {c.topic: c.msgtype for c in reader.connections}
        cams = _camera_topics(bag, topics, cameras)
        streams = _read(reader, bag, [*cams.values(), POSE_TOPIC, COMMAND_TOPIC, JOINTS_TOPIC, STATE_TOPIC,
                                      EPISODE_TOPIC], topics)
    finally:
        reader.close()
    spoken = sorted(t for t, s in streams.items() if len(s.t))
    for topic in (*cams.values(), POSE_TOPIC, COMMAND_TOPIC):
        if topic not in spoken:
            raise StoreError(f"{bag}: no {topic} messages (its topics: {sorted(topics)}; with messages: {spoken}); "
                             f"the graph's topics are read: cameras /cameras/<name>/image_raw (choose them with "
                             f"interop.cameras), {JOINTS_TOPIC}, {POSE_TOPIC}, {COMMAND_TOPIC}")
    streams = {t: s for t, s in streams.items() if len(s.t)}
    command = streams[COMMAND_TOPIC]
    got = len(command.values[0]) if command.values else 0
    if action_dim is not None and got != action_dim:
        raise StoreError(f"{bag}: its {COMMAND_TOPIC} has {got} values, the robot's action has {action_dim}")
    first = next(iter(cams.values()))
    h, w = streams[first].values[0].shape[:2] if streams[first].values else (1, 1)
    joints = JOINTS_TOPIC in streams and len(streams[JOINTS_TOPIC].values[0]) == JOINTS_DIM + 1
    state_dim = len(streams[STATE_TOPIC].values[0]) if STATE_TOPIC in streams else 10
    schema = RowSchema(cameras=tuple(cams), image_hw=(int(h), int(w)), state_dim=state_dim, action_dim=got,
                       joints_dim=JOINTS_DIM if joints else 0)
    steps = _episode_steps(command.t, streams.get(EPISODE_TOPIC), control_hz)
    store = ReplayStore.create(dst, schema, chunk_len=chunk_len)
    names = list(cams)
    for k, (seed, ticks) in enumerate(steps):
        cols = _episode(streams, cams, ticks, joints)
        if cols is None:
            continue
        arrays, t_obs = cols
        c = foreign_episode_columns(arrays, 0, len(t_obs), schema, names, ["state"], "action", success, control_hz)
        c["t_obs"] = t_obs
        c["t_action"] = t_obs.copy()  # a bag has when the command was computed from, not when it was sent
        if joints:
            c[JOINTS_KEY] = arrays["joints"]
        store.add_episode(c, L.EpisodeMeta(source=L.EpisodeSource.parse(source), success=success, seed=seed))
        if progress is not None:
            progress(k + 1, len(steps))
    if store.n_episodes == 0:
        store.close()
        raise StoreError(f"{bag}: no step has every topic ({', '.join([*cams.values(), POSE_TOPIC])}) before it")
    return store


def _has_footer(bag: Path) -> bool:
    try:
        return has_footer(bag)
    except (StoreError, OSError):
        return True  # not one .mcap: the open error says what is wrong


def _camera_topics(bag: Path, topics: dict[str, str], cameras: Sequence[str] | None) -> dict[str, str]:
    images = {t for t, m in topics.items() if m == "sensor_msgs/msg/Image"}
    if cameras:
        want = {c.strip("/").split("/")[-2] if c.startswith("/") and c.count("/") >= 2 else c:
                c if c.startswith("/") else IMAGE_TOPIC.format(name=c) for c in cameras}
        missing = [t for t in want.values() if t not in images]
        if missing:
            raise StoreError(f"{bag}: no image topic {missing} (its image topics: {sorted(images)}); map them with "
                             f"interop.cameras=[...] (a name n reads /cameras/n/image_raw, or give the topic)")
        return want
    if not images:
        raise StoreError(f"{bag}: no sensor_msgs/Image topic (its topics: {sorted(topics)})")
    return {t.strip("/").split("/")[-2] if t.count("/") >= 2 else t.strip("/"): t for t in sorted(images)}


def _read(reader: Any, bag: Path, wanted: Sequence[str], topics: dict[str, str]) -> dict[str, _Stream]:
    conns = [c for c in reader.connections if c.topic in wanted]
    raw: dict[str, list[tuple[int, Any]]] = {c.topic: [] for c in conns}
    try:
        for conn, t, data in reader.messages(connections=conns):
            msg = reader.deserialize(data, conn.msgtype)
            topic = conn.topic
            if topic == EPISODE_TOPIC:
                raw[topic].append((int(t), int(msg.data)))
            elif topic == STATE_TOPIC:
                raw[topic].append((int(t), np.asarray(msg.data, np.float32)))
            elif topic == POSE_TOPIC:
                p, q = msg.pose.position, msg.pose.orientation
                raw[topic].append((_ns(msg.header), (np.array([p.x, p.y, p.z]), np.array([q.w, q.x, q.y, q.z]))))
            elif topic in (COMMAND_TOPIC, JOINTS_TOPIC):
                raw[topic].append((_ns(msg.header), np.asarray(msg.position, np.float64)))
            else:
                raw[topic].append((_ns(msg.header), _image(msg, topic)))
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(f"{bag}: cannot read its messages ({type(exc).__name__}: {exc}); is it truncated?"
                         ) from None
    out = {}
    for topic, items in raw.items():
        items.sort(key=lambda x: x[0])
        out[topic] = _Stream(np.array([x[0] for x in items], np.int64), [x[1] for x in items])
    return out


def _episode_steps(cmd_t: np.ndarray, episodes: _Stream | None, control_hz: float) -> list[tuple[int, np.ndarray]]:
    """(seed, step times ns) per episode, by the rule in the module docstring."""
    bounds = [(-1, np.iinfo(np.int64).min)]
    if episodes is not None and len(episodes.t):
        bounds = list(zip(episodes.values, episodes.t.tolist(), strict=True))
    out = []
    for k, (seed, start) in enumerate(bounds):
        end = bounds[k + 1][1] if k + 1 < len(bounds) else np.iinfo(np.int64).max
        t = cmd_t[(cmd_t >= start) & (cmd_t < end)]
        if len(t) == 0:
            continue
        period = 1e9 / control_hz
        if len(t) > 1 and abs(float(np.median(np.diff(t))) - period) > RATE_TOLERANCE * period:
            step = round(period)  # integer ns: a float grid at 1.7e18 ns is 256 ns coarse
            t = t[0] + step * np.arange((t[-1] - t[0]) // step + 1, dtype=np.int64)  # zero-order hold
        out.append((int(seed), t))
    return out


def _next_observation(streams: dict[str, _Stream], topics: Sequence[str], after: int) -> int | None:
    """When every observation topic has spoken again after ``after`` (None: one never does)."""
    nxt = []
    for topic in topics:
        t = streams[topic].t
        i = int(np.searchsorted(t, after, side="right"))
        if i >= len(t):
            return None
        nxt.append(int(t[i]))
    return max(nxt)


def _episode(streams: dict[str, _Stream], cams: dict[str, str], ticks: np.ndarray, joints: bool
             ) -> tuple[dict[str, np.ndarray], np.ndarray] | None:
    """The episode's arrays: one row per step, and the final observation after the last step."""
    command, pose = streams[COMMAND_TOPIC], streams[POSE_TOPIC]
    obs_topics = [*cams.values(), POSE_TOPIC, *([JOINTS_TOPIC] if joints else [])]
    final = _next_observation(streams, obs_topics, int(ticks[-1]))
    # without an observation after the last step, that step's observation is the episode's final one
    times = np.append(ticks, final) if final is not None else ticks
    idx = {t: streams[t].at(times) for t in obs_topics}
    ok = np.all([i >= 0 for i in idx.values()], axis=0)
    keep = np.flatnonzero(ok)
    if len(keep) < 2:
        return None
    times = times[keep]
    a = command.at(times)
    arrays: dict[str, np.ndarray] = {}
    for name, topic in cams.items():
        arrays[name] = np.stack([streams[topic].values[j] for j in idx[topic][keep]])
    if STATE_TOPIC in streams and len(streams[STATE_TOPIC].t):
        s = streams[STATE_TOPIC]
        arrays["state"] = np.stack([s.values[max(j, 0)] for j in s.at(times)])
    else:
        width = (np.array([streams[JOINTS_TOPIC].values[j][-1] for j in idx[JOINTS_TOPIC][keep]]) if joints
                 else np.zeros(len(times)))
        arrays["state"] = np.stack([proprio(pose.values[j][0], quat_to_mat(pose.values[j][1]), w)
                                    for j, w in zip(idx[POSE_TOPIC][keep], width, strict=True)])
    arrays["action"] = np.stack([command.values[max(j, 0)] for j in a]).astype(np.float32)
    if joints:
        arrays["joints"] = np.stack([streams[JOINTS_TOPIC].values[j][:-1] for j in idx[JOINTS_TOPIC][keep]]
                                    ).astype(np.float32)
    return arrays, times.astype(np.float64) * 1e-9
