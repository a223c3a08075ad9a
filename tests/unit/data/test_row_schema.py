from __future__ import annotations

import numpy as np
import pytest

from robot_rl.data.errors import RowError
from robot_rl.data.row_schema import RowSchema

from .helpers import row_of


def good_row(schema, make_episode):
    return row_of(make_episode(3), 0)


def test_fields_follow_the_schema(schema):
    f = schema.fields
    assert f["obs/images/wrist"].shape == (16, 16, 3) and f["obs/images/wrist"].dtype == np.uint8
    assert f["obs/state"].shape == (5,) and f["action"].shape == (7,)
    assert f["intervened"].dtype == bool and f["t_obs"].dtype == np.float64
    assert set(f) == {"obs/images/wrist", "obs/images/front", "obs/state", "action", "base_action",
                      "residual_action", "policy_action", "intervened", "reward", "success", "terminated",
                      "truncated", "t_obs", "t_action"}


def test_valid_row_is_copied(schema, make_episode):
    row = good_row(schema, make_episode)
    out = schema.validate(row)
    row["obs/images/wrist"][:] = 0  # the caller reuses its camera buffer
    row["action"][:] = 0
    assert out["obs/images/wrist"].any() and out["action"].any()


def test_python_scalars_are_accepted(schema, make_episode):
    row = good_row(schema, make_episode)
    row |= {"intervened": True, "reward": -1, "success": False, "t_obs": 3.5, "action": [0.1] * 7}
    out = schema.validate(row)
    assert out["reward"] == -1.0 and out["action"].dtype == np.float32


@pytest.mark.parametrize(("key", "value", "what"), [
    ("obs/images/wrist", np.zeros((16, 15, 3), np.uint8), "shape"),
    ("obs/images/front", np.zeros((16, 16, 3), np.float32), "dtype"),
    ("obs/state", np.zeros(6, np.float32), "shape"),
    ("action", np.zeros((7, 1), np.float32), "shape"),
    ("intervened", 1, "dtype"),
    ("terminated", np.zeros(1, bool), "shape"),
    ("reward", "1.0", "scalar"),
    ("reward", True, "dtype"),
])
def test_wrong_shape_or_dtype_names_the_key(schema, make_episode, key, value, what):
    row = good_row(schema, make_episode)
    row[key] = value
    with pytest.raises(RowError, match=what) as err:
        schema.validate(row)
    assert err.value.key == key and str(err.value).startswith(key)


@pytest.mark.parametrize("key", ["action", "base_action", "residual_action", "policy_action", "reward"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_in_actions_and_rewards_is_refused(schema, make_episode, key, bad):
    row = good_row(schema, make_episode)
    if key == "reward":
        row[key] = bad
    else:
        row[key] = row[key].copy()
        row[key][3] = bad
    with pytest.raises(RowError, match="NaN or inf") as err:
        schema.validate(row)
    assert err.value.key == key


def test_missing_and_unknown_keys_are_named(schema, make_episode):
    row = good_row(schema, make_episode)
    del row["base_action"]
    with pytest.raises(RowError, match="missing") as err:
        schema.validate(row)
    assert err.value.key == "base_action"
    row = good_row(schema, make_episode)
    row["obs/images/side"] = row["obs/images/wrist"]
    with pytest.raises(RowError, match="not a field") as err:
        schema.validate(row)
    assert err.value.key == "obs/images/side"


def test_json_round_trip_and_camera_less_schema(schema):
    assert RowSchema.from_json(schema.to_json()) == schema
    features = RowSchema(cameras=(), state_dim=64)
    assert features.image_keys == () and features.fields["obs/state"].shape == (64,)
    with pytest.raises(ValueError, match="unique"):
        RowSchema(cameras=("a", "a"))


def test_optional_joints_field_and_old_schemas_still_read(schema):
    assert "obs/joints" not in schema.fields and "joints_dim" not in schema.to_json()
    with_joints = RowSchema(cameras=("wrist",), image_hw=(16, 16), state_dim=10, joints_dim=7)
    assert with_joints.fields["obs/joints"].shape == (7,)
    assert RowSchema.from_json(with_joints.to_json()) == with_joints
    old = {"cameras": ["wrist"], "image_hw": [16, 16], "state_dim": 10, "action_dim": 7}  # written before joints
    assert RowSchema.from_json(old).joints_dim == 0


def test_row_nbytes_of_the_default_two_camera_row():
    schema = RowSchema(cameras=("wrist", "front"), image_hw=(128, 128), state_dim=18)
    assert 98_000 < schema.row_nbytes < 100_000  # docs/architecture.md §6: <= 100 KB per transition
