"""Running whole episodes in the twin without the node graph: ``episodes`` (decide, act, record), ``collect``
(scripted-expert demonstrations), ``evaluate`` (success on held-out seeds) and ``human`` (the simulated person
who takes over). Used by ``robot-rl demo``, ``collect`` and the learning experiment."""
