"""QoS per stream, written down once (README "ROS 2" section has the table).

- SENSOR (camera images, joint states, EE pose, teleop twist): best effort, keep last 1, volatile. The
  newest sample is all that matters; a lost one is replaced by the next, and old data is never queued.
- COMMAND (/robot/command): reliable, keep last 1, volatile. Each command is for one observation; a late
  one is useless, a lost one costs a control step, so reliability without a backlog.
- EVENTS (teleop and task events, reset requests): reliable, keep last 10: a take-over must not be lost.
- LATCHED (weights, robot status, episode acknowledgements, gripper state, the actor's help state): reliable,
  keep last 1, transient local, so a node that joins late (an actor restarted after the learner published, a
  teleop node started while the robot asks for help) gets the latest value.
- SIM_STATE (/sim/state, the twin's full state for the simulated cameras): reliable, keep last 1.
"""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

SENSOR = QoSProfile(reliability=ReliabilityPolicy.BEST_EFFORT, history=HistoryPolicy.KEEP_LAST, depth=1,
                    durability=DurabilityPolicy.VOLATILE)
COMMAND = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST, depth=1,
                     durability=DurabilityPolicy.VOLATILE)
EVENTS = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST, depth=10,
                    durability=DurabilityPolicy.VOLATILE)
LATCHED = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST, depth=1,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
SIM_STATE = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST, depth=1,
                       durability=DurabilityPolicy.VOLATILE)

# Topic names (the node graph, docs/architecture.md §1).
IMAGE = "/cameras/{name}/image_raw"  # sensor_msgs/Image, SENSOR
JOINT_STATES = "/robot/joint_states"  # sensor_msgs/JointState, SENSOR
EE_POSE = "/robot/ee_pose"  # geometry_msgs/PoseStamped, SENSOR
ROBOT_COMMAND = "/robot/command"  # sensor_msgs/JointState named dx..gripper (action units), COMMAND
ROBOT_EXECUTED = "/robot/executed"  # sensor_msgs/JointState: each executed command as clipped, EVENTS
ROBOT_HALTED = "/robot/halted"  # std_msgs/Bool, LATCHED: True while the watchdog (or a stop request) holds the arm
ROBOT_RESET = "/robot/reset"  # std_msgs/Int64 (episode seed), EVENTS
ROBOT_EPISODE = "/robot/episode"  # std_msgs/Int64 (seed of the episode the robot was reset to), LATCHED
TASK_EVENTS = "/task/events"  # std_msgs/String success | failure (sim: from the twin's task check), EVENTS
SIM_STATE_TOPIC = "/sim/state"  # sensor_msgs/JointState, position = qpos ++ target position, SIM_STATE
TELEOP_TWIST = "/teleop/twist"  # geometry_msgs/TwistStamped (action units), SENSOR
TELEOP_GRIPPER = "/teleop/gripper"  # std_msgs/Float32 in [-1, 1], LATCHED
TELEOP_INTERVENING = "/teleop/intervening"  # std_msgs/Bool, LATCHED: the human has taken over (False at start)
TELEOP_EVENTS = "/teleop/events"  # std_msgs/String takeover | handback | success | failure | reset | ..., EVENTS
POLICY_ACTION = "/actor/policy_action"  # sensor_msgs/JointState (what the policy proposed), SENSOR
ACTOR_HELP = "/actor/help"  # diagnostic_msgs/DiagnosticStatus, LATCHED: WARN asking (why; score, parts, version) | OK
WEIGHTS = "/learner/weights"  # std_msgs/UInt8MultiArray (a checksummed bundle, label residual-v<N>), LATCHED
