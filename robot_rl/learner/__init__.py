"""The learner: tails the replay store, trains the residual (``td3``) in ``loop``, and sends signed weights back to
the actor over a ``weights`` channel; ``pacing`` lets a simulated robot wait for the learner's update budget."""
