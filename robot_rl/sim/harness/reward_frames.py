"""Labelled frames for the reward classifier, from the twin: its own success check labels every frame.

What a classifier must tell apart is the success state from the states that look like it, so the episodes are
made to visit both (``reward.collect.*``):

- the noisy expert does the task; after the success the episode goes on for ``post_success_steps``, the arm backing
  off and wandering over the placed cube (the positives, from many viewpoints, sometimes bumping the cube off
  again: a negative after a positive);
- in ``near_miss_fraction`` of the episodes the expert places the cube ``near_miss_offset`` beside the target and
  backs off the same way (the hardest negatives: released, at rest, just not on the target);
- everything before, reaching, grasping and carrying, is a negative.

Rows are ordinary replay-store rows (source ``sim``) with ``success_label`` per frame, so ``robot-rl buffer
inspect`` and ``verify`` work on them, and a crash loses at most the episode in progress.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from robot_rl.actor.rows import final_row, step_row
from robot_rl.config.schema import Config
from robot_rl.data.recorder import EpisodeWriter
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.expert import ScriptedExpert, placed


@dataclass
class LabelledEpisode:
    seed: int
    steps: int
    positives: int
    near_miss: bool
    success: bool


def collect_labelled_episode(cfg: Config, env: PickPlaceEnv, expert: ScriptedExpert, seed: int,
                             writer: EpisodeWriter | None = None) -> LabelledEpisode:
    """One labelled episode (recorded when ``writer`` is given)."""
    rc = cfg.reward.collect
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed)
    expert.reset(seed)
    near_miss = bool(rng.random() < rc.near_miss_fraction)
    offset = np.zeros(3)
    if near_miss:
        angle = rng.uniform(0, 2 * np.pi)
        offset[:2] = rng.uniform(*rc.near_miss_offset) * np.array([np.cos(angle), np.sin(angle)])
    label, positives, after, steps, success_seen = 0, 0, 0, 0, False
    if writer is not None:
        writer.begin_episode(source="sim", seed=seed)
    try:
        while True:
            s = env.task_state()
            aimed = dataclasses.replace(s, target_pos=s.target_pos + offset)
            action = expert.act(aimed)
            if after:  # done (or placed beside): back off and wander, the gripper open
                action[:3] = np.clip(action[:3] + rng.normal(0.0, rc.wander, 3), -1.0, 1.0)
                action[-1] = -1.0
            t_obs = env.world.time
            sent = env.execute(action)
            steps += 1
            success, failed = env.evaluate()
            next_label = int(success)
            success_seen |= success
            beside = dataclasses.replace(env.task_state(), target_pos=aimed.target_pos)
            done_placing = success or (near_miss and placed(beside) and
                                       env.world.gripper_width() > 2 * cfg.task.cube_half_size + 0.01)
            if done_placing or after:
                after += 1
            over = failed or after > rc.post_success_steps or steps >= cfg.task.max_steps + rc.post_success_steps
            if writer is not None:
                writer.put(step_row(obs, action=sent.action, policy_action=action, reward=float(success),
                                    success=success, terminated=bool(failed), truncated=over and not failed,
                                    t_obs=t_obs, t_action=env.world.time, success_label=label), block=True)
            positives += label
            obs, label = env.observe(), next_label
            if over:
                break
        positives += label
        if writer is not None:
            writer.put(final_row(obs, env.world.time, success_label=label), block=True)
            writer.end_episode(success=success_seen)
    except BaseException:
        if writer is not None:
            writer.abort_episode()
        raise
    return LabelledEpisode(seed, steps + 1, positives, near_miss, success_seen)


def collect_labelled(cfg: Config, env: PickPlaceEnv, writer: EpisodeWriter | None, frames: int, seed: int,
                     progress: bool = True) -> list[LabelledEpisode]:
    """Episodes from ``seed`` on until ``frames`` labelled frames are recorded."""
    expert = ScriptedExpert(dataclasses.replace(cfg.expert, noise_std=cfg.reward.collect.expert_noise), env.limits)
    out: list[LabelledEpisode] = []
    bar = tqdm(total=frames, desc="reward collect", unit="frame", disable=not progress)
    while sum(e.steps for e in out) < frames:
        e = collect_labelled_episode(cfg, env, expert, seed + len(out), writer)
        out.append(e)
        bar.update(e.steps)
        bar.set_postfix(episodes=len(out), positives=sum(x.positives for x in out))
    bar.close()
    if writer is not None:
        writer.flush()
    return out
