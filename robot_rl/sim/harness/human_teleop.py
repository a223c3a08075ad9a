"""The simulated person at the twin as a teleop backend (``ros.teleop=sim``): it mirrors the robot node's world
from the twin's state vector, watches what the policy proposes, and takes over with the scripted expert when the
policy drifts or stalls (:class:`~robot_rl.sim.harness.human.SimulatedHuman` decides when and for how long).
While it intervenes its last command is kept fresh at the teleop rate. When the actor asks for help
(``/actor/help``), the person judges the proposal at once: takes over, or acknowledges (an ``ack`` event) and the
policy goes on."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from robot_rl.config.schema import Config
from robot_rl.control.safety import SafetyLimits
from robot_rl.hardware.teleop import HumanCommand
from robot_rl.sim.env import task_state
from robot_rl.sim.expert import ScriptedExpert
from robot_rl.sim.harness.human import SimulatedHuman
from robot_rl.sim.state_vector import apply_sim_state
from robot_rl.sim.world import SimWorld


class SimulatedTeleop:
    def __init__(self, cfg: Config) -> None:
        self.world = SimWorld(cfg)
        self.human = SimulatedHuman(cfg.human, ScriptedExpert(cfg.expert, SafetyLimits.for_robot(cfg.robot)))
        self.cube_half_size = cfg.task.cube_half_size
        self.intervening = False
        self.twist: np.ndarray | None = None  # (6,) while intervening
        self._have_state = False

    def mirror(self, vec: np.ndarray) -> None:
        """The robot node's twin state (:mod:`robot_rl.sim.state_vector`); ValueError when it does not fit."""
        apply_sim_state(self.world, vec)
        self._have_state = True

    def new_episode(self, seed: int) -> HumanCommand:
        """The robot reset to ``seed`` (-1: a robot node started, no episode yet): nobody intervenes."""
        if seed >= 0:
            self.human.reset(seed)
        return self._hand_back()

    def propose(self, policy_action: np.ndarray, asked: bool = False) -> HumanCommand:
        """The policy's proposal for this step: the person keeps watching, or takes (keeps) control. ``asked``: the
        actor holds still and asks for help; a person who lets it go on says so with the event ``ack``."""
        if not self._have_state:
            return HumanCommand()
        action = self.human.decide(task_state(self.world, self.cube_half_size), policy_action, asked=asked)
        if action is None:
            cmd = self._hand_back()
            return replace(cmd, events=("ack",)) if self.human.acknowledged else cmd
        self.twist = np.asarray(action[:6], dtype=np.float32)
        changed = not self.intervening
        self.intervening = True
        return HumanCommand(twist=self.twist, stamp=time.monotonic(), gripper=float(action[6]),
                            intervening=True if changed else None)

    def poll(self) -> HumanCommand:
        return HumanCommand() if self.twist is None else HumanCommand(twist=self.twist, stamp=time.monotonic())

    def _hand_back(self) -> HumanCommand:
        changed, self.intervening, self.twist = self.intervening, False, None
        return HumanCommand(intervening=False if changed else None)

    def close(self) -> None:
        self.world.close()
