"""Reinforcement learning: the residual TD3 update, the learner and actor loops, interventions."""
