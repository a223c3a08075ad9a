"""Who commands the arm this step: the human wins whenever they are intervening."""

from __future__ import annotations

import numpy as np

from robot_rl.control.safety import ActionError, check_action


def arbitrate(policy_action: np.ndarray, human_action: np.ndarray | None) -> tuple[np.ndarray, bool]:
    """(executed action (7,) float32, intervened). ``human_action`` is None when nobody intervenes.

    The executed action is checked (:func:`~robot_rl.control.safety.check_action`): a malformed one raises
    :class:`~robot_rl.control.safety.ActionError` saying whose it was (``human action: ...``), instead of a
    wrong-shaped array reaching the safety layer. Range clipping stays with the safety layer."""
    who, action = ("policy", policy_action) if human_action is None else ("human", human_action)
    try:
        return check_action(action), human_action is not None
    except ActionError as exc:
        raise ActionError(f"{who} action: {exc}") from None
