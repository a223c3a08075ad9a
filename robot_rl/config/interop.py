"""Config of ``robot-rl buffer import`` / ``export``: how a foreign dataset's keys map onto our rows
(:mod:`robot_rl.data.formats`, :mod:`robot_rl.data.dp_interop`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from robot_rl.config.checks import check

EPISODE_SOURCES = ("demo", "teleop", "policy", "sim")
VIDEO_CODECS = ("libx264", "libsvtav1")


@dataclass
class InteropConfig:
    """``cameras``: the dataset's image keys to import, in the order of our cameras, each becoming a camera of that
    name (empty: every ``(T, H, W, 3)`` array). ``state_keys``: arrays concatenated into the state (empty:
    ``state``). ``action_key``: the action array. Imported episodes are recorded as ``source`` (demonstrations by
    default, so ``train-bc`` and the learner's demo half use them) and as successes when ``success``, their last
    transition flagged ``success`` and ``terminated`` (else ``truncated``).

    Export to LeRobot: ``task`` is the episodes' task text (empty: ``task.name``); the cameras are encoded with
    ``video_codec`` (``libx264``: H.264, which every player and Rerun show; ``libsvtav1``: AV1, LeRobot's own
    default, smaller) at constant quality ``video_crf`` (0-51, lower is closer to the frames)."""

    cameras: list[str] = field(default_factory=list)
    state_keys: list[str] = field(default_factory=list)
    action_key: str = "action"
    source: str = "demo"
    success: bool = True
    task: str = ""
    video_codec: str = "libx264"
    video_crf: int = 18

    def validate(self, key: str) -> None:
        check(bool(self.action_key), f"{key}.action_key", "must not be empty")
        check(self.source in EPISODE_SOURCES, f"{key}.source",
              f"must be one of {', '.join(EPISODE_SOURCES)}; got {self.source!r}")
        check(len(set(self.cameras)) == len(self.cameras), f"{key}.cameras", f"repeats a key: {self.cameras}")
        check(self.video_codec in VIDEO_CODECS, f"{key}.video_codec",
              f"must be one of {', '.join(VIDEO_CODECS)}; got {self.video_codec!r}")
        check(0 <= self.video_crf <= 51, f"{key}.video_crf", f"must be 0-51; got {self.video_crf}")
