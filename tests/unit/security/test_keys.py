"""The deployment key: created fresh and private when missing (the same one for every racing process), refused
when others can read it or it is too short; HMAC tags that fail on another key, a truncation or no signature."""

from __future__ import annotations

import os
import re
import stat
import threading

import pytest

from robot_rl import security
from robot_rl.security import DeploymentKey, KeyFileError, SignatureError, load_key


def test_missing_key_is_created_private_and_reused(tmp_path):
    path = tmp_path / "conf" / "deployment.key"
    key = load_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_bytes()) == security.KEY_BYTES
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    again = load_key(path)
    assert again.tag(b"d", b"x") == key.tag(b"d", b"x")
    assert [p.name for p in path.parent.iterdir()] == ["deployment.key"], "no temp file left behind"
    assert "deployment.key" in repr(key) and path.read_bytes().hex() not in repr(key)


def test_home_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    load_key("~/.config/robot_rl/deployment.key")
    assert (tmp_path / ".config" / "robot_rl" / "deployment.key").is_file()


def test_racing_creators_end_up_with_one_key(tmp_path):
    path = tmp_path / "deployment.key"
    barrier = threading.Barrier(8)
    tags: list[bytes] = []

    def create() -> None:
        barrier.wait()
        tags.append(load_key(path).tag(b"d", b"x"))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(tags) == 8 and len(set(tags)) == 1


def test_a_loser_of_the_race_keeps_the_winners_key(tmp_path, monkeypatch):
    """Another process creates the file between our existence check and our link: ours must not replace it."""
    path = tmp_path / "deployment.key"
    winner = os.urandom(32)
    real_link = os.link

    def link_after_winner(src, dst):
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, winner)
        os.close(fd)
        real_link(src, dst)  # raises FileExistsError, as in a real race

    monkeypatch.setattr(security.os, "link", link_after_winner)
    key = load_key(path)
    assert path.read_bytes() == winner
    assert key.tag(b"d", b"x") == DeploymentKey(winner).tag(b"d", b"x")
    assert [p.name for p in tmp_path.iterdir()] == ["deployment.key"]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o622])
def test_a_key_others_can_access_is_refused(tmp_path, mode):
    path = tmp_path / "deployment.key"
    path.write_bytes(os.urandom(32))
    path.chmod(mode)
    with pytest.raises(KeyFileError, match=re.escape(str(path)) + ".*group/others.*chmod 600"):
        load_key(path)


def test_a_short_key_is_refused(tmp_path):
    path = tmp_path / "deployment.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"sixteen bytes!!!")
    os.close(fd)
    with pytest.raises(KeyFileError, match=re.escape(f"{path}: key is 16 bytes, at least 32")):
        load_key(path)


def test_a_missing_key_without_create_is_named(tmp_path):
    with pytest.raises(KeyFileError, match=r"nope\.key: no deployment key"):
        load_key(tmp_path / "nope.key", create=False)
    with pytest.raises(KeyFileError, match="regular file"):
        load_key(tmp_path, create=False)


def test_weights_round_trip_and_refusals():
    key, other = DeploymentKey.generate(), DeploymentKey.generate()
    bundle = os.urandom(1000)
    signed = key.sign_weights(3, bundle)
    assert security.is_signed_bundle(signed) and not security.is_signed_bundle(bundle)
    assert key.open_weights(3, signed) == bundle

    def refused(data: bytes, version: int = 3, k: DeploymentKey = key) -> str:
        with pytest.raises(SignatureError) as exc:
            k.open_weights(version, data)
        return exc.value.reason

    assert refused(bundle) == "unsigned"
    assert refused(signed, k=other) == "bad signature"
    assert refused(signed, version=4) == "bad signature", "the version is signed: no replay as a newer one"
    flipped = bytearray(signed)
    flipped[-1] ^= 1
    assert refused(bytes(flipped)) == "bad signature"
    head = len(security.WEIGHTS_MAGIC)
    assert refused(signed[: head + 10]) == "bad signature"  # truncated inside the tag
    assert refused(signed[:head + security.TAG_BYTES] + bundle[:-1]) == "bad signature"  # truncated payload


def test_tags_are_domain_separated_and_truncations_checked():
    key = DeploymentKey.generate()
    tag = key.tag(security.COMMAND_DOMAIN, b"a", b"b")
    key.check(tag, security.COMMAND_DOMAIN, b"a", b"b")
    key.check(tag[:16], security.COMMAND_DOMAIN, b"a", b"b")
    with pytest.raises(SignatureError, match="too short"):
        key.check(tag[:8], security.COMMAND_DOMAIN, b"a", b"b")
    with pytest.raises(SignatureError, match="bad signature"):
        key.check(tag, security.WEIGHTS_DOMAIN, b"a", b"b")
    with pytest.raises(SignatureError, match="bad signature"):
        key.check(tag, security.COMMAND_DOMAIN, b"ab", b"")  # parts are length-prefixed: no shifting bytes
    with pytest.raises(KeyFileError, match="at least 32"):
        DeploymentKey(b"short")
