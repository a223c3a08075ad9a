"""A guarded command stream: the actor node signs every ``/robot/command`` with the deployment key
(:mod:`robot_rl.security`), and the robot node executes only commands that verify and are newer than the
last one it accepted.

Where the signature rides: the command stays a plain ``sensor_msgs/JointState`` (so ``ros2 topic echo``, bags
and the bench probe still read it) and ``header.frame_id`` (unused for commands) carries
``hmac1:<send_ns>:<tag>``: ``send_ns`` is the actor's send time in nanoseconds (strictly increasing per actor,
and a restarted actor's are later still), ``tag`` the first 16 bytes (32 hex digits) of HMAC-SHA256 over
``send_ns``, the header stamp, the names and the position / velocity / effort values as float64 bytes. The
header stamp keeps its meaning (the capture stamp the command was computed from, which two commands may
share when ``ros.lockstep=false``), which is why freshness is a separate counter.

The robot node refuses, drops (never executes) and does not feed its watchdog with a command that is
``unsigned``, has a ``bad signature`` (another key, or any value changed), is ``replayed`` (``send_ns`` not
newer than the last accepted one), or ``expired`` (``send_ns`` further than ``security.command_expiry_s``
from the robot node's clock: a recorded command replayed after the robot node restarted).

Protects against: a peer on the DDS domain without the key publishing commands (forged, or recorded and
replayed), so a hostile stream can neither move the arm nor keep a halted arm "alive" past its watchdog.
Does not protect against: a peer holding the key, or root on a graph host (it can read the key); anyone
reading the traffic (nothing is encrypted: use SROS2 for that); a flood of commands or other topics
(denial of service: the arm then halts on its watchdog, which is the safe side); the other robot topics
(``/robot/reset``, teleop events) which stay open. For those, SROS2 (DDS-Security) is the tool; see the
README section "Signed weights and guarded commands".
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import JointState

from robot_rl.security import COMMAND_DOMAIN, DeploymentKey, SignatureError

PREFIX = "hmac1:"
TAG_BYTES = 16  # HMAC-SHA256 truncated to 128 bits (as in RFC 4868's HMAC-SHA-256-128)


def _parts(msg: JointState, send_ns: int) -> tuple[bytes, ...]:
    stamp = msg.header.stamp
    return (str(int(send_ns)).encode(), f"{int(stamp.sec)}.{int(stamp.nanosec)}".encode(),
            "\0".join(msg.name).encode(), np.asarray(msg.position, dtype="<f8").tobytes(),
            np.asarray(msg.velocity, dtype="<f8").tobytes(), np.asarray(msg.effort, dtype="<f8").tobytes())


def send_ns(msg: JointState) -> int:
    """The signed send time a command (or its ``/robot/executed`` echo) carries; -1 when it has none. Not a check:
    :class:`CommandGuard` verifies; this only reads which command a message is."""
    frame = msg.header.frame_id
    try:
        return int(frame[len(PREFIX):].split(":")[0]) if frame.startswith(PREFIX) else -1
    except ValueError:
        return -1


class CommandSigner:
    """The actor's side: stamps ``header.frame_id`` with the send time and the tag."""

    def __init__(self, key: DeploymentKey) -> None:
        self.key = key
        self._last_ns = 0

    def sign(self, msg: JointState, now_ns: int) -> JointState:
        send_ns = max(int(now_ns), self._last_ns + 1)  # strictly increasing even if the clock stalls
        self._last_ns = send_ns
        tag = self.key.tag(COMMAND_DOMAIN, *_parts(msg, send_ns))[:TAG_BYTES]
        msg.header.frame_id = f"{PREFIX}{send_ns}:{tag.hex()}"
        return msg


class CommandGuard:
    """The robot node's side: :meth:`check` raises :class:`~robot_rl.security.SignatureError` (``reason``:
    unsigned, bad signature, replayed or expired) or accepts the command and remembers its send time."""

    def __init__(self, key: DeploymentKey, max_age_s: float = 0.0) -> None:
        self.key = key
        self.max_age_ns = int(max_age_s * 1e9)
        self.last_ns = 0

    def check(self, msg: JointState, now_ns: int) -> None:
        frame = msg.header.frame_id
        if not frame.startswith(PREFIX):
            raise SignatureError("unsigned", "no signature in header.frame_id")
        try:
            send, tag_hex = frame[len(PREFIX):].split(":")
            send_ns, tag = int(send), bytes.fromhex(tag_hex)
        except ValueError:
            raise SignatureError("bad signature", f"unreadable signature field {frame[:80]!r}") from None
        if len(tag) != TAG_BYTES:
            raise SignatureError("bad signature", f"tag of {len(tag)} bytes, expected {TAG_BYTES}")
        self.key.check(tag, COMMAND_DOMAIN, *_parts(msg, send_ns))
        if send_ns <= self.last_ns:
            raise SignatureError("replayed", f"sent at {send_ns} ns, not after the last accepted command "
                                             f"({self.last_ns} ns)")
        if self.max_age_ns and abs(int(now_ns) - send_ns) > self.max_age_ns:
            raise SignatureError("expired", f"sent {(now_ns - send_ns) * 1e-9:+.3f} s from this clock (limit "
                                            f"{self.max_age_ns * 1e-9:g} s: security.command_expiry_s)")
        self.last_ns = send_ns
