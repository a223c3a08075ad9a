"""Weight bundles: verified round trip; anything corrupt, foreign or misshapen is refused."""

from __future__ import annotations

import pytest
import torch

from robot_rl.policies import bundle as bundles
from robot_rl.policies.residual import ResidualActor


def _bundle(version: int = 3) -> bundles.Bundle:
    torch.manual_seed(0)
    actor = ResidualActor(obs_dim=12, hidden_dim=16)
    torch.nn.init.normal_(actor.net[-1].weight)
    return actor.to_bundle(version, extra={"updates": 42})


def test_round_trip_is_exact(tmp_path):
    b = _bundle()
    path = bundles.save(b, tmp_path / "w.pt")
    loaded = bundles.load(path, kind="residual")
    assert loaded.version == 3 and loaded.extra == {"updates": 42}
    actor = ResidualActor.from_bundle(loaded)
    for key, value in b.state_dict.items():
        assert torch.equal(actor.state_dict()[key], value)


def test_flipped_byte_is_refused():
    data = bytearray(bundles.to_bytes(_bundle()))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(bundles.BundleError):
        bundles.from_bytes(bytes(data))


def test_tampered_weights_fail_the_checksum():
    b = _bundle()
    tampered = bundles.Bundle(b.kind, b.version, b.config, {k: v.clone() for k, v in b.state_dict.items()}, b.extra)
    payload = bundles.to_bytes(tampered)
    obj = torch.load(__import__("io").BytesIO(payload), weights_only=True)
    obj["state_dict"]["net.0.weight"][0, 0] += 1.0  # change a weight, keep the old checksum
    buf = __import__("io").BytesIO()
    torch.save(obj, buf)
    with pytest.raises(bundles.BundleError, match="checksum"):
        bundles.from_bytes(buf.getvalue())


def test_wrong_kind_and_garbage_are_refused():
    data = bundles.to_bytes(_bundle())
    with pytest.raises(bundles.BundleError, match="expected a 'bc' bundle"):
        bundles.from_bytes(data, kind="bc")
    with pytest.raises(bundles.BundleError, match="not a readable"):
        bundles.from_bytes(b"definitely not torch")


def test_shape_mismatch_is_refused():
    b = _bundle()
    other = ResidualActor(obs_dim=20, hidden_dim=16)
    with pytest.raises(bundles.BundleError, match="does not fit"):
        bundles.load_into(other, b)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(bundles.BundleError, match="no weight bundle"):
        bundles.load(tmp_path / "nope.pt")
