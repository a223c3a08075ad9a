"""Imported at start-up by every process of a soak's graph when the soak puts this folder first on PYTHONPATH,
which it does only when it cannot loop-mount a file system to fill: the replay store's writes then fail with
ENOSPC while the soak's flag file exists (:mod:`robot_rl.testing.faults`). For those processes it takes the
place of any other sitecustomize module."""

from robot_rl.testing.faults import install_from_env

install_from_env()
