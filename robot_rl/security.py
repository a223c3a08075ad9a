"""The per-deployment key and HMAC-SHA256 signing: residual weight bundles from the learner and the actor's
commands to the robot carry a tag only a holder of the key can make.

Why: without SROS2, any process on the DDS domain can publish on any topic. A signed stream lets the actor
refuse weights and the robot node refuse commands from peers that do not hold the key. What it does not
do: hide anything (traffic stays readable), stop a peer that holds the key or root on a graph host, or stop
a flood (see the README section "Signed weights and guarded commands").

The key is 32+ random bytes in a file outside the repo (``security.key_path``), readable by its owner only.
A missing file is created with a fresh key (``O_CREAT | O_EXCL``, mode 0600; written to a temp file and
linked into place, so a reader never sees half a key and two processes racing end up with the same one);
the graph hosts of one deployment must share that file (copy it, keep the mode). This module is the one
place that signs and verifies; it raises :class:`SignatureError` and never unpickles anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from robot_rl.config.schema import Config

KEY_BYTES = 32  # a fresh key's length, and the shortest key accepted
TAG_BYTES = hashlib.sha256().digest_size  # 32
WEIGHTS_MAGIC = b"robot_rl.signed/1\n"  # prefix of a signed weight bundle: MAGIC + tag + bundle bytes

# Domains: a tag made for one kind of message never verifies as another.
WEIGHTS_DOMAIN = b"robot_rl/weights/1"
COMMAND_DOMAIN = b"robot_rl/command/1"


class KeyFileError(ValueError):
    """The key file is unusable (readable by others, too short, not a file); the message names the path."""


class SignatureError(ValueError):
    """A message is unsigned or its tag does not verify. ``reason``: ``unsigned`` or ``bad signature``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class DeploymentKey:
    """The HMAC key. ``repr`` never shows it."""

    def __init__(self, key: bytes, path: str = "<memory>") -> None:
        if len(key) < KEY_BYTES:
            raise KeyFileError(f"{path}: key is {len(key)} bytes, at least {KEY_BYTES} needed")
        self._key = bytes(key)
        self.path = path

    def __repr__(self) -> str:
        return f"DeploymentKey({self.path})"

    @classmethod
    def generate(cls) -> DeploymentKey:
        return cls(secrets.token_bytes(KEY_BYTES))

    def tag(self, domain: bytes, *parts: bytes) -> bytes:
        """HMAC-SHA256 over the domain and the parts, each length-prefixed (no two part lists collide)."""
        mac = hmac.new(self._key, domain, hashlib.sha256)
        for p in parts:
            mac.update(len(p).to_bytes(8, "little"))
            mac.update(p)
        return mac.digest()

    def check(self, tag: bytes, domain: bytes, *parts: bytes) -> None:
        """Raise :class:`SignatureError` unless ``tag`` (possibly a truncated tag, >= 16 bytes) is the one for
        these parts; compared in constant time."""
        if len(tag) < 16:
            raise SignatureError("bad signature", f"tag of {len(tag)} bytes is too short")
        if not hmac.compare_digest(self.tag(domain, *parts)[: len(tag)], tag):
            raise SignatureError("bad signature", "the tag does not match (another key, or altered in transit)")

    # ------------------------------------------------------------------ weight bundles
    def sign_weights(self, version: int, bundle: bytes) -> bytes:
        """A signed weight bundle: ``WEIGHTS_MAGIC + tag + bundle``; the tag also covers the version it is
        published as, so a genuine old bundle cannot be replayed as a newer one."""
        return WEIGHTS_MAGIC + self.tag(WEIGHTS_DOMAIN, str(int(version)).encode(), bundle) + bundle

    def open_weights(self, version: int, signed: bytes) -> bytes:
        """The bundle bytes inside a signed bundle published as ``version``; :class:`SignatureError` otherwise.
        Checks only bytes: nothing is unpickled before the tag verifies."""
        signed = bytes(signed)
        if not signed.startswith(WEIGHTS_MAGIC):
            raise SignatureError("unsigned", "no signature header")
        tag = signed[len(WEIGHTS_MAGIC): len(WEIGHTS_MAGIC) + TAG_BYTES]
        if len(tag) < TAG_BYTES:
            raise SignatureError("bad signature", "truncated signature")
        bundle = signed[len(WEIGHTS_MAGIC) + TAG_BYTES:]
        self.check(tag, WEIGHTS_DOMAIN, str(int(version)).encode(), bundle)
        return bundle


class RefusalLog:
    """Counts refusals per reason and warns at most once per ``period_s`` for each reason, so a flood of forged
    messages costs one log line per period and a new kind of refusal still shows at once."""

    def __init__(self, warn: Callable[[str], None], period_s: float = 2.0) -> None:
        self.warn, self.period_s = warn, period_s
        self.counts: dict[str, int] = {}
        self.last_reason = ""
        self._last: dict[str, float] = {}

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def refuse(self, reason: str, message: str) -> None:
        """Count ``reason`` (a :class:`SignatureError`'s, or e.g. ``stale``); warn ``message`` plus the running
        count unless warned about that reason recently."""
        n = self.counts[reason] = self.counts.get(reason, 0) + 1
        self.last_reason = reason
        now = time.monotonic()
        if now - self._last.get(reason, float("-inf")) >= self.period_s:
            self._last[reason] = now
            self.warn(f"{message} ({n} {reason} so far)")


def is_signed_bundle(data: bytes) -> bool:
    return bytes(data[: len(WEIGHTS_MAGIC)]) == WEIGHTS_MAGIC


def load_key(path: str | os.PathLike[str], create: bool = True) -> DeploymentKey:
    """Read the key file (``~`` expanded); with ``create``, make one when it does not exist. Refuses a file that
    group or others can read or write, and one shorter than :data:`KEY_BYTES`."""
    p = Path(path).expanduser()
    if create and not p.exists():
        _create(p)
    try:
        fd = os.open(p, os.O_RDONLY)
    except FileNotFoundError:
        raise KeyFileError(f"{p}: no deployment key (security.key_path); copy the deployment's key file "
                           "here (mode 0600)") from None
    except OSError as exc:
        raise KeyFileError(f"{p}: cannot open the deployment key: {exc.strerror}") from None
    try:
        st = os.fstat(fd)  # the file opened, not the name: no swap between check and read
        if not stat.S_ISREG(st.st_mode):
            raise KeyFileError(f"{p}: the deployment key must be a regular file")
        if st.st_mode & 0o077:
            raise KeyFileError(f"{p}: the deployment key is accessible to group/others (mode "
                               f"{stat.S_IMODE(st.st_mode):04o}); run: chmod 600 {p}")
        key = os.read(fd, 1 << 16)
    finally:
        os.close(fd)
    return DeploymentKey(key, str(p))


def _create(path: Path) -> None:
    """A fresh random key at ``path``, atomically: written to a private temp file, then hard-linked into place
    (``link`` fails if the name exists, like ``O_CREAT | O_EXCL``). A racing process that loses keeps the
    winner's key, so all of them use the same one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(KEY_BYTES))
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another process created it first: use theirs
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def key_from_config(cfg: Config) -> DeploymentKey:
    """The key at ``security.key_path``, created when missing."""
    return load_key(cfg.security.key_path)
