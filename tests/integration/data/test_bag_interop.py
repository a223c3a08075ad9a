"""``robot-rl buffer import`` / ``export`` with ROS 2 bags (rosbag2, MCAP storage).

The foreign bag is written with rosbags' own writer as a graph would record it (not by our exporter): BGR
frames, commands at twice the control rate (so the steps are resampled by zero-order hold), no exact state
(so it is built from the pose and the gripper width). Our export is read with the MCAP project's own ROS 2
decoder (mcap-ros2-support), and comes back through our import with frames, state, joints and actions exact.
A bag whose writer was killed is repaired from the bytes it left, read with the MCAP project's stream reader."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from mcap.exceptions import EndOfFile
from mcap.records import Chunk
from mcap.stream_reader import StreamReader
from mcap_ros2.reader import read_ros2_messages
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from robot_rl.cli.main import main
from robot_rl.control.rotations import quat_to_mat
from robot_rl.data.formats import MCAP, detect_format
from robot_rl.data.layout import EpisodeMeta, EpisodeSource
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import RowSchema
from robot_rl.data.synthetic import episode
from robot_rl.spec import proprio

TS = get_typestore(Stores.ROS2_JAZZY)
T = TS.types
HW = (12, 16)
SEC = 1_000_000_000


def _header(ns: int):
    return T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=ns // SEC, nanosec=ns % SEC),
                                    frame_id="")


def write_graph_bag(path: Path, *, steps=12, command_hz=20, topics=("image", "joints", "pose", "command")) -> dict:
    """A bag as the graph records it: camera and robot topics at 10 Hz, commands at ``command_hz``."""
    rng = np.random.default_rng(1)
    t0 = 1_700_000_000 * SEC
    frames = rng.integers(0, 256, (steps, *HW, 3), dtype=np.uint8)
    joints = rng.standard_normal((steps, 8))
    joints[:, 7] = rng.uniform(0, 0.08, steps)
    quats = rng.standard_normal((steps, 4))
    pos = rng.random((steps, 3))
    n_cmd = steps * command_hz // 10
    actions = rng.uniform(-1, 1, (n_cmd, 7))
    empty = np.zeros(0)
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as w:
        conns = {"image": w.add_connection("/cameras/front/image_raw", "sensor_msgs/msg/Image", typestore=TS),
                 "joints": w.add_connection("/robot/joint_states", "sensor_msgs/msg/JointState", typestore=TS),
                 "pose": w.add_connection("/robot/ee_pose", "geometry_msgs/msg/PoseStamped", typestore=TS),
                 "command": w.add_connection("/robot/command", "sensor_msgs/msg/JointState", typestore=TS)}

        def put(kind: str, ns: int, msg) -> None:
            if kind in topics:
                w.write(conns[kind], ns, TS.serialize_cdr(msg, msg.__msgtype__))

        for k in range(n_cmd):  # commands first in time order with the observations (below)
            ns = t0 + k * SEC // command_hz + 1_000_000
            put("command", ns, T["sensor_msgs/msg/JointState"](
                header=_header(ns), name=["dx", "dy", "dz", "drx", "dry", "drz", "gripper"], position=actions[k],
                velocity=empty, effort=empty))
        for i in range(steps):
            ns = t0 + i * SEC // 10
            img = np.ascontiguousarray(frames[i][..., ::-1])  # bgr8 on the wire
            put("image", ns, T["sensor_msgs/msg/Image"](header=_header(ns), height=HW[0], width=HW[1],
                                                          encoding="bgr8", is_bigendian=0, step=HW[1] * 3,
                                                          data=img.reshape(-1)))
            put("joints", ns, T["sensor_msgs/msg/JointState"](header=_header(ns), name=[f"j{j}" for j in range(8)],
                                                              position=joints[i], velocity=empty, effort=empty))
            q = quats[i]
            pose = T["geometry_msgs/msg/Pose"](position=T["geometry_msgs/msg/Point"](x=pos[i, 0], y=pos[i, 1],
                                                                                     z=pos[i, 2]),
                                               orientation=T["geometry_msgs/msg/Quaternion"](w=q[0], x=q[1], y=q[2],
                                                                                             z=q[3]))
            put("pose", ns, T["geometry_msgs/msg/PoseStamped"](header=_header(ns), pose=pose))
    return {"frames": frames, "joints": joints, "quats": quats, "pos": pos, "actions": actions}


def test_import_a_graph_bag_resampled_to_the_control_rate(tmp_path, capsys):
    bag = tmp_path / "run_bag"
    data = write_graph_bag(bag)
    assert detect_format(bag) == MCAP and detect_format(next(bag.glob("*.mcap"))) == MCAP
    assert main(["buffer", "import", str(bag), str(tmp_path / "ours.zarr")]) == 0
    assert "imported 1 episodes" in capsys.readouterr().out
    with ReplayStore.open(tmp_path / "ours.zarr") as store:
        assert store.schema.cameras == ("front",) and store.schema.joints_dim == 7
        ep = store.read_episode(0)
    n = len(ep["action"])
    # steps every 0.1 s from the first command (at 1 ms): observations at or before each, so the frame of step k
    # is frame k; its action is the latest command at or before it, the 20 Hz stream's command 2k
    assert n == 12
    np.testing.assert_array_equal(ep["obs/images/front"], data["frames"][:n])  # bgr8 -> rgb
    np.testing.assert_array_equal(ep["obs/joints"], data["joints"][:n, :7].astype(np.float32))
    np.testing.assert_array_equal(ep["action"][:-1], data["actions"][0:2 * (n - 1):2].astype(np.float32))
    want = [proprio(data["pos"][i], quat_to_mat(data["quats"][i]), data["joints"][i, 7]) for i in range(n)]
    np.testing.assert_allclose(ep["obs/state"], np.stack(want), rtol=1e-6, atol=1e-7)
    assert main(["buffer", "verify", str(tmp_path / "ours.zarr")]) == 0


def test_export_reads_in_mcap_and_comes_back_exact(tmp_path, capsys):
    schema = RowSchema(cameras=("wrist", "front"), image_hw=HW, state_dim=10, action_dim=7, joints_dim=7)
    eps = []
    with ReplayStore.create(tmp_path / "ours.zarr", schema, chunk_len=8) as store:
        for seed, n in enumerate((7, 9)):
            rng = np.random.default_rng(seed)
            cols = episode(schema, n, seed) | {"obs/joints": rng.standard_normal((n, 7)).astype(np.float32)}
            cols["t_obs"] = 50.0 + np.arange(n) * 0.1
            cols["t_action"] = cols["t_obs"] + 0.004
            store.add_episode(cols, EpisodeMeta(source=EpisodeSource.policy, seed=20 + seed,
                                                wall_start=1.7e9 + 60 * seed))
            eps.append(cols)
    assert main(["buffer", "export", str(tmp_path / "ours.zarr"), str(tmp_path / "bag"), "--format", "mcap"]) == 0
    assert "exported 2 episodes (16 rows)" in capsys.readouterr().out
    counts: dict[str, int] = {}
    commands = []
    for m in read_ros2_messages(str(next((tmp_path / "bag").glob("*.mcap")))):  # the MCAP project's decoder
        counts[m.channel.topic] = counts.get(m.channel.topic, 0) + 1
        if m.channel.topic == "/robot/command":
            commands.append(list(m.ros_msg.position))
        if m.channel.topic == "/cameras/front/image_raw" and counts[m.channel.topic] == 3:
            np.testing.assert_array_equal(np.frombuffer(bytes(m.ros_msg.data), np.uint8).reshape(*HW, 3),
                                          eps[0]["obs/images/front"][2])
    assert counts["/cameras/wrist/image_raw"] == 16 and counts["/robot/joint_states"] == 16
    assert counts["/robot/command"] == 14 and counts["/robot/episode"] == 2, "no command from a final observation"
    np.testing.assert_array_equal(np.asarray(commands[6], np.float32), eps[1]["action"][0])  # after episode 0's 6

    assert main(["buffer", "import", str(tmp_path / "bag"), str(tmp_path / "back.zarr")]) == 0
    with ReplayStore.open(tmp_path / "back.zarr") as back:
        assert back.n_episodes == 2 and [back.episode_meta(i).seed for i in range(2)] == [20, 21]
        for i, want in enumerate(eps):
            got = back.read_episode(i)
            for key in ("obs/images/wrist", "obs/images/front", "obs/state", "obs/joints"):
                np.testing.assert_array_equal(got[key], want[key], err_msg=key)
            np.testing.assert_array_equal(got["action"][:-1], want["action"][:-1])
            np.testing.assert_allclose(np.diff(got["t_obs"]), np.diff(want["t_obs"]), atol=1e-6)


def test_bad_bags_get_errors_naming_what_they_have(tmp_path, capsys):
    write_graph_bag(tmp_path / "no_pose", topics=("image", "joints", "command"))
    assert main(["buffer", "import", str(tmp_path / "no_pose"), str(tmp_path / "a.zarr")]) == 1
    err = capsys.readouterr().err
    assert "no /robot/ee_pose" in err and "/cameras/front/image_raw" in err
    write_graph_bag(tmp_path / "ok")
    assert main(["buffer", "import", str(tmp_path / "ok"), str(tmp_path / "a.zarr"), "interop.cameras=[side]"]) == 1
    err = capsys.readouterr().err
    assert "/cameras/side/image_raw" in err and "interop.cameras" in err
    mcap = next((tmp_path / "ok").glob("*.mcap"))
    mcap.write_bytes(mcap.read_bytes()[: mcap.stat().st_size // 2])
    assert main(["buffer", "import", str(tmp_path / "ok"), str(tmp_path / "a.zarr")]) == 1
    assert "cut short?" in capsys.readouterr().err
    assert not (tmp_path / "a.zarr").exists() and not list(tmp_path.glob(".*partial"))


def _killed_bag(bag: Path, chunks: int = 3, per_chunk: int = 10, pending: int = 5) -> bytes:
    """What a killed recorder leaves on disk: ``chunks`` chunks closed and flushed as the recorder closes them,
    then ``pending`` messages only in memory; no summary, footer or ``metadata.yaml``."""
    w = Writer(bag, version=9, storage_plugin=StoragePlugin.MCAP)
    w.open()
    conn = w.add_connection("/robot/episode", "std_msgs/msg/Int64", typestore=TS)
    for i in range(chunks * per_chunk + pending):
        w.write(conn, (i + 1) * SEC, TS.serialize_cdr(T["std_msgs/msg/Int64"](data=i), "std_msgs/msg/Int64"))
        if i % per_chunk == per_chunk - 1 and i < chunks * per_chunk:
            w.storage.close_chunk()
            w.storage.bio.flush()
    mcap = bag / f"{bag.name}.mcap"
    left = mcap.read_bytes()
    w.close()
    mcap.write_bytes(left)
    (bag / "metadata.yaml").unlink()
    return left


def test_a_killed_recorders_bag_is_repaired_with_every_message_before_the_cut(tmp_path, capsys):
    bag, fixed = tmp_path / "killed", tmp_path / "fixed"
    left = _killed_bag(bag)
    assert main(["buffer", "import", str(bag), str(tmp_path / "a.zarr")]) == 1
    assert f"robot-rl buffer repair {bag} DST" in capsys.readouterr().err
    assert main(["buffer", "repair", str(bag), str(fixed)]) == 0
    assert "30 messages on 1 topics" in capsys.readouterr().out
    assert sorted(p.name for p in fixed.iterdir()) == ["fixed.mcap", "metadata.yaml"]  # named as the bag is
    got = [m.ros_msg.data for m in read_ros2_messages(str(fixed / "fixed.mcap"))]
    assert got == list(range(30)), "every message of a closed chunk, in order; the 5 in memory are lost"
    assert main(["buffer", "repair", str(fixed), str(tmp_path / "again")]) == 1
    assert "nothing to repair" in capsys.readouterr().err and not (tmp_path / "again").exists()

    # cut inside the last chunk (a kill while it was being written): the chunks before it are kept
    f, chunk_ends = io.BytesIO(left), []
    with pytest.raises(EndOfFile):  # no footer: the stream ends inside where the next record would be
        for record in StreamReader(f, skip_magic=False, emit_chunks=True).records:
            if isinstance(record, Chunk):
                chunk_ends.append(f.tell())  # the reader reads exactly one record at a time
    assert len(chunk_ends) == 3
    (bag / "killed.mcap").write_bytes(left[:chunk_ends[-1] - 40])
    assert main(["buffer", "repair", str(bag), str(fixed), "--overwrite"]) == 0
    out = capsys.readouterr().out
    assert "20 messages" in out and " 0 bytes after the cut" not in out
    assert [m.ros_msg.data for m in read_ros2_messages(str(fixed / "fixed.mcap"))] == list(range(20))
    (bag / "killed.mcap").write_bytes(b"not a bag")
    assert main(["buffer", "repair", str(bag), str(tmp_path / "b")]) == 1
    assert "not an MCAP file" in capsys.readouterr().err


def test_repair_keeps_a_message_type_only_the_bag_defines(tmp_path, capsys):
    """A type the Jazzy typestore lacks comes from the bag's own schema, and its messages read back decoded."""
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import get_types_from_msg

    ts = get_typestore(Stores.ROS2_JAZZY)
    ts.register(get_types_from_msg("float32 score\nstring label", "lab_msgs/msg/Verdict"))
    bag = tmp_path / "custom"
    w = Writer(bag, version=9, storage_plugin=StoragePlugin.MCAP)
    w.open()
    conn = w.add_connection("/lab/verdict", "lab_msgs/msg/Verdict", typestore=ts)
    for i in range(4):
        msg = ts.types["lab_msgs/msg/Verdict"](score=i / 4, label=f"v{i}")
        w.write(conn, (i + 1) * SEC, ts.serialize_cdr(msg, "lab_msgs/msg/Verdict"))
    w.storage.close_chunk()
    w.storage.bio.flush()
    left = (bag / "custom.mcap").read_bytes()
    w.close()
    (bag / "custom.mcap").write_bytes(left)
    (bag / "metadata.yaml").unlink()
    assert main(["buffer", "repair", str(bag), str(tmp_path / "fixed")]) == 0
    with AnyReader([tmp_path / "fixed"]) as reader:  # rosbags, with only the bag's definitions to go on
        got = [reader.deserialize(raw, c.msgtype) for c, _, raw in reader.messages()]
    assert [(m.score, m.label) for m in got] == [(i / 4, f"v{i}") for i in range(4)]
