"""Peers that stand in at true hardware boundaries and speak the real interface, for tests and for demos
without the device: a fake HID device fed raw SpaceMouse reports over a Unix socket (``fake_hid``), and the
franky-sim server that answers libfranka's network protocol on loopback (``franka_sim``, ``franka_sim_server``).
The product imports them only when configured to (``teleop.spacemouse.fake_hid_socket``, ``robot.ip`` on
loopback with the server started by the tests)."""
