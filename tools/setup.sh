#!/usr/bin/env bash
# Sets up everything the demo and the tests need: system libraries (when root), a local
# virtual environment in .venv, and this project installed into it (editable, with extras).
# Idempotent and cheap when nothing changed: the venv is reinstalled only when pyproject.toml
# changes. Usage: tools/setup.sh [EXTRAS]   (default extras: dev)
set -euo pipefail
cd "$(dirname "$0")/.."

EXTRAS="${1:-dev}"
VENV="${VENV:-.venv}"

# Headless rendering for MuJoCo (EGL and OSMesa, software GL) and a virtual X display for tests;
# hardware: libusb (pyrealsense2), hidapi (pyspacemouse), xdotool (types keys into Xvfb in the keyboard tests);
# chromium renders the training report headless (robot-rl report --screenshot, and its test); ffmpeg writes
# H.264 videos (robot-rl video, and its test).
APT_PACKAGES=(libegl1 libegl-mesa0 libgl1-mesa-dri libosmesa6 xvfb libusb-1.0-0 libhidapi-hidraw0 xdotool chromium ffmpeg)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
        echo "[setup] installing system packages: ${missing[*]}"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "[setup] WARNING: missing system packages (install them as root): ${missing[*]}" >&2
    fi
fi

if [ ! -x "$VENV/bin/python" ]; then
    PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
    echo "[setup] creating $VENV with $($PYTHON --version)"
    "$PYTHON" -m venv "$VENV"
fi

stamp="$VENV/.robot-rl-installed"
want="$(cat pyproject.toml | sha256sum | cut -c1-16) $EXTRAS"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "[setup] installing robot-rl[$EXTRAS] into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e ".[$EXTRAS]"
    echo "$want" > "$stamp"
fi
