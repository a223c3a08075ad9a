"""Calibration as data: camera intrinsics, hand-eye extrinsics and workspace bounds.

Measured with a ChArUco board (:mod:`.charuco`, :mod:`.intrinsics`, :mod:`.hand_eye`) or by touching the
workspace corners (:mod:`.workspace`), written to ``calibration/<robot_id>/*.yaml`` and read back into
frozen, validated records (:mod:`.files`, :mod:`.records`) that the camera, actor and safety code use
(:mod:`.consumers`). Nothing calibrated is a constant in code.
"""
