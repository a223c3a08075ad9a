"""Who commands the arm this step: the human wins whenever they are intervening."""

from __future__ import annotations

import numpy as np


def arbitrate(policy_action: np.ndarray, human_action: np.ndarray | None) -> tuple[np.ndarray, bool]:
    """(executed action (7,) float32, intervened). ``human_action`` is None when nobody intervenes."""
    if human_action is None:
        return np.asarray(policy_action, dtype=np.float32), False
    return np.asarray(human_action, dtype=np.float32), True
