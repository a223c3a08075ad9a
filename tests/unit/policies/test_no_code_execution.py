"""Opening a weight bundle or a learner checkpoint never runs code: a pickle whose object would call a function
on load (here: write a marker file) is refused by ``bundle.from_bytes`` / ``bundle.load`` and by the learner's
checkpoint loader, and the marker is never written. The payload is shown to be live (a plain unpickle does
write the marker), so the refusal is what keeps it out."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import pytest
import torch

from robot_rl.learner.loop import load_checkpoint
from robot_rl.policies import bundle as bundles


class Payload:
    """Unpickling this calls ``exec``, which writes ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",)


def _crafted(marker: Path) -> bytes:
    """A torch file shaped like a bundle, with the payload among its values."""
    buf = io.BytesIO()
    torch.save({"format": bundles.FORMAT, "format_version": 1, "kind": "residual", "version": 1, "config": {},
                "state_dict": {"w": torch.zeros(2)}, "extra": {"x": Payload(marker)}, "sha256": "0"}, buf)
    return buf.getvalue()


def test_the_payload_is_live(tmp_path):
    marker = tmp_path / "live"
    torch.load(io.BytesIO(_crafted(marker)), weights_only=False)  # what an unsafe loader would do
    assert marker.read_text() == "pwned"
    marker.unlink()
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.exists()


def test_bundle_loading_refuses_code(tmp_path):
    marker = tmp_path / "marker"
    data = _crafted(marker)
    with pytest.raises(bundles.BundleError, match="not a readable weight bundle"):
        bundles.from_bytes(data)
    (tmp_path / "evil.pt").write_bytes(data)
    with pytest.raises(bundles.BundleError, match=r"evil\.pt"):
        bundles.load(tmp_path / "evil.pt", kind="residual")
    assert not marker.exists()


def test_checkpoint_loading_refuses_code(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "checkpoint.pt"
    torch.save({"td3": Payload(marker), "version": 3, "obs_dim": 8}, path)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        load_checkpoint(path)
    assert not marker.exists()
    torch.save({"td3": {"updates": torch.tensor(5)}, "version": 3, "obs_dim": 8}, path)
    assert load_checkpoint(path)["version"] == 3  # a plain checkpoint still loads
