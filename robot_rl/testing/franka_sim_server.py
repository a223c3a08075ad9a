"""A franky-sim server (MuJoCo FR3 speaking libfranka's network protocol) with fault injection.

Run as a child process by :class:`robot_rl.testing.franka_sim.FrankySimPeer` so that the real
driver (``franky`` / libfranka) is exercised against a protocol-level peer on loopback. franky-sim
does not model reflexes, so this server adds one: on ``reflex`` (a line on stdin) the running motion
is aborted with libfranka's ``kReflexAborted`` status and the state reports robot mode ``Reflex``
with an error flag until the client calls automatic error recovery, as a real arm would. It can also
stop answering, to test the driver's deadlines: ``mute gripper`` executes gripper commands but never
replies (what franky-sim itself does to a gripper command that a second one preempts); ``mute robot``
leaves the arm's TCP commands unread (a controller that hangs) while state still streams over UDP;
``mute state`` stops the arm's and the gripper's UDP state packets, ``mute gripper_state`` only the gripper's
(after libfranka's 1 s UDP timeout its gripper connection fails every later read and command).

Protocol on stdin/stdout, one line each: prints ``READY <host>`` once listening; ``reflex`` ->
``ACK reflex``; ``mute <one of MUTABLE>`` / ``unmute`` -> ``ACK <the same>``; ``status`` ->
``STATUS <mode> <recoveries> <control> <client>`` (mode ``ok``/``reflex``; control: the arm's control
mode, e.g. ``IDLE``; client ``yes``/``no``: whether a libfranka client is connected); ``quit`` (or EOF)
stops it.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from collections.abc import Iterator

from franky_sim import franka_robot_protocol as proto
from franky_sim.franka_robot_server import FrankaRobotServer
from franky_sim.franka_server import BaseCommand
from franky_sim.mujoco_simulator import MujocoSimulator

# Index of ``joint_reflex`` in libfranka's ``franka::Errors`` array (errors.h, 0.21).
JOINT_REFLEX_ERROR = 6
N_ERRORS = 41
MUTABLE = ("gripper", "gripper_state", "robot", "state")  # what ``mute <it>`` silences (a ``<it>_muted`` flag)


class FaultInjectingServer(FrankaRobotServer):
    """franky-sim's robot server plus an injectable reflex that only error recovery clears."""

    def __init__(self, robot, hostnames) -> None:
        super().__init__(robot, hostnames)
        self._lock = threading.Lock()
        self._pending_reflex = False
        self.in_reflex = False
        self.recoveries = 0
        self.robot_muted = False
        self.gripper_muted = False
        self.gripper_state_muted = False
        self.state_muted = False

    def mute_gripper_replies(self) -> None:
        """Gripper commands run but their replies are dropped (wraps the gripper server's starts)."""
        gripper = self.gripper_server
        for name in ("start_move", "start_grasp"):
            start = getattr(gripper, name)

            def muted(*args, _start=start, **kwargs) -> None:
                _start(*args, **kwargs)
                if self.gripper_muted:
                    gripper._pending_command_id = None
                    gripper._pending_tcp_socket = None

            setattr(gripper, name, muted)

    def process_commands(self) -> None:
        if not self.robot_muted:
            super().process_commands()
            return
        # the arm's TCP commands stay unread; UDP commands, the motion in progress and the gripper go on
        self._pre_process_commands()
        self._process_udp_commands()
        self._post_process_commands()
        if self.gripper_server is not None:
            self.gripper_server.process_commands()

    def send_state(self) -> None:
        if self.gripper_state_muted:
            super(FrankaRobotServer, self).send_state()  # the arm's state packet only
        else:
            super().send_state()

    def request_reflex(self) -> None:
        with self._lock:
            self._pending_reflex = True

    def recover(self) -> None:
        with self._lock:
            self.in_reflex = False
            self.recoveries += 1

    def start_motion(self, controller_mode, motion_generator_mode, motion_id) -> None:
        if self.in_reflex:  # a real arm refuses to move until the error is recovered
            raise RuntimeError("robot is in reflex mode; automatic error recovery required")
        super().start_motion(controller_mode, motion_generator_mode, motion_id)

    def _post_process_commands(self) -> None:
        with self._lock:
            fire, self._pending_reflex = self._pending_reflex, False
        if fire:
            self.in_reflex = True
            motion_id = self.current_motion_id
            self.stop_motion(send_preemption_signal=False)
            if motion_id:
                BaseCommand.send_response(self._tcp_socket, proto.RobotCommand.kMove, motion_id,
                                          proto.MoveStatus.kReflexAborted)
                self.reset_current_motion_id()
        super()._post_process_commands()

    @property
    def robot_state(self):
        state = super().robot_state
        if not self.in_reflex:
            return state
        errors = tuple(i == JOINT_REFLEX_ERROR for i in range(N_ERRORS))
        return state.replace(robot_mode=proto.RobotMode.kReflex, errors=errors, current_errors=errors,
                             last_motion_errors=errors)


def _recovery_handler(server: FaultInjectingServer):
    """Replaces franky-sim's always-succeeds recovery so it clears the injected reflex."""

    def handle(self, _server) -> None:
        server.recover()
        server.send_state()  # the client reads the state right after the reply: make it the recovered one
        self.reply(proto.AutomaticErrorRecoveryStatus.kSuccess)

    return handle


def _candidates(host: str) -> Iterator[str]:
    if host:
        yield host
        return
    rng = random.Random()
    for _ in range(200):  # a random 127.x.y.z so parallel test runs do not collide on port 1337
        yield f"127.{rng.randrange(1, 255)}.{rng.randrange(0, 256)}.{rng.randrange(1, 255)}"


def serve(host: str, realtime: float) -> None:
    sim = MujocoSimulator()
    sim.init()
    robot = sim.add_robot()
    server = FaultInjectingServer(robot, _candidates(host))
    proto.AutomaticErrorRecoveryCommand.handle = _recovery_handler(server)
    stop = threading.Event()
    try:
        server.init()
        server.mute_gripper_replies()
        sim.start()

        def loop() -> None:
            while not stop.is_set():
                start = time.perf_counter()
                server.process_commands()
                sim.step()
                if not server.state_muted:
                    server.send_state()
                if realtime:
                    time.sleep(max(0.0, 0.001 / realtime - (time.perf_counter() - start)))

        thread = threading.Thread(target=loop, name="franky-sim", daemon=True)
        thread.start()
        print(f"READY {server.hostname}", flush=True)
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "reflex":
                server.request_reflex()
                print("ACK reflex", flush=True)
            elif cmd == "unmute" or cmd in (f"mute {what}" for what in MUTABLE):
                for what in MUTABLE:
                    flag = f"{what}_muted"
                    setattr(server, flag, cmd == f"mute {what}" or (getattr(server, flag) and cmd != "unmute"))
                print(f"ACK {cmd}", flush=True)
            elif cmd == "status":
                mode = "reflex" if server.in_reflex else "ok"
                control = server._FrankaRobotServer__control_mode.name  # franky-sim keeps it private
                client = "yes" if server.tcp_connected else "no"
                print(f"STATUS {mode} {server.recoveries} {control} {client}", flush=True)
            elif cmd == "quit":
                break
        stop.set()
        thread.join(timeout=2.0)
    finally:
        stop.set()
        server.cleanup()
        sim.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="", help="loopback address to bind (default: a random 127.x.y.z)")
    parser.add_argument("--realtime", type=float, default=1.0, help="speed factor; 0 runs as fast as possible")
    args = parser.parse_args(argv)
    serve(args.host, args.realtime)
    return 0


if __name__ == "__main__":
    sys.exit(main())
