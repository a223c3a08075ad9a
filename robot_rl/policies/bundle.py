"""Versioned, checksummed weight bundles: the one format for checkpoints of the BC base, residual
weights pushed to the actor, and weights sent over DDS.

A bundle is a plain dict (tensors, numbers, strings) loadable with ``torch.load(weights_only=True)``,
so opening one never executes code. Its checksum covers every tensor's bytes plus the config, and a
receiver also checks that the state dict fits the network it builds; anything that fails is refused
with :class:`BundleError`, and the caller keeps the weights it has.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch

from robot_rl.atomic import write_atomic
from robot_rl.security import is_signed_bundle

FORMAT = "robot_rl.bundle"
FORMAT_VERSION = 1


class BundleError(ValueError):
    """A bundle is corrupt, of the wrong kind, or does not fit the network."""


@dataclass(frozen=True)
class Bundle:
    kind: str  # "bc" or "residual"
    version: int  # policy version: increases with every published update
    config: dict[str, Any]  # what the network was built from (JSON-serialisable)
    state_dict: dict[str, torch.Tensor]
    extra: dict[str, Any]


def _checksum(kind: str, version: int, config: Mapping[str, Any], state: Mapping[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"kind": kind, "version": version, "config": config}, sort_keys=True).encode())
    for key in sorted(state):
        t = state[key].detach().cpu().contiguous()
        h.update(f"{key}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def to_bytes(bundle: Bundle) -> bytes:
    state = {k: v.detach().cpu().contiguous() for k, v in bundle.state_dict.items()}
    payload = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "kind": bundle.kind, "version": int(bundle.version),
        "config": bundle.config, "state_dict": state, "extra": bundle.extra,
        "sha256": _checksum(bundle.kind, bundle.version, bundle.config, state),
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


def from_bytes(data: bytes, kind: str | None = None) -> Bundle:
    """Parse and verify a bundle; raises :class:`BundleError` saying what is wrong. A signed bundle (from a
    keyed weights channel) is refused here: its channel verifies and unwraps it first."""
    if is_signed_bundle(data):
        raise BundleError("a signed weight bundle: verify it with the deployment key first (robot_rl.security)")
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # any unpickling failure means a bad bundle
        raise BundleError(f"not a readable weight bundle: {type(exc).__name__}: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise BundleError("not a robot_rl weight bundle (missing format marker)")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise BundleError(f"bundle format {payload['format_version']} is newer than this code ({FORMAT_VERSION})")
    if kind is not None and payload["kind"] != kind:
        raise BundleError(f"expected a {kind!r} bundle, got {payload['kind']!r}")
    expected = _checksum(payload["kind"], payload["version"], payload["config"], payload["state_dict"])
    if payload.get("sha256") != expected:
        raise BundleError(f"checksum mismatch for {payload['kind']} bundle v{payload['version']}: corrupted")
    return Bundle(kind=payload["kind"], version=int(payload["version"]), config=payload["config"],
                  state_dict=payload["state_dict"], extra=payload.get("extra", {}))


def save(bundle: Bundle, path: str | Path) -> Path:
    """Write atomically (temp file + rename): a reader never sees half a bundle."""
    return write_atomic(path, to_bytes(bundle))


def load(path: str | Path, kind: str | None = None) -> Bundle:
    path = Path(path)
    if not path.is_file():
        raise BundleError(f"no weight bundle at {path}")
    try:
        return from_bytes(path.read_bytes(), kind)
    except BundleError as exc:
        raise BundleError(f"{path}: {exc}") from None


def load_into(module: torch.nn.Module, bundle: Bundle) -> None:
    """Load a verified bundle's weights; a shape or key mismatch raises :class:`BundleError`."""
    try:
        module.load_state_dict(bundle.state_dict, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise BundleError(f"{bundle.kind} bundle v{bundle.version} does not fit the network: "
                          f"{' '.join(first[:3])}") from None


M = TypeVar("M", bound="BundledModule")


class BundledModule(torch.nn.Module):
    """A network that can be rebuilt from ``config()``, so its weights travel as a bundle."""

    bundle_kind: ClassVar[str]

    def config(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_bundle(self, version: int = 0, extra: dict[str, Any] | None = None) -> Bundle:
        return Bundle(kind=self.bundle_kind, version=version, config=self.config(),
                      state_dict={k: v.detach().cpu() for k, v in self.state_dict().items()}, extra=extra or {})

    @classmethod
    def from_bundle(cls: type[M], b: Bundle) -> M:
        """Build the network the bundle describes and load its weights (refused if they do not fit)."""
        if b.kind != cls.bundle_kind:
            raise BundleError(f"expected a {cls.bundle_kind!r} bundle, got {b.kind!r}")
        try:
            net = cls(**b.config)
        except TypeError as exc:
            raise BundleError(f"{b.kind} bundle config does not describe a {cls.__name__}: {exc}") from None
        load_into(net, b)
        return net
