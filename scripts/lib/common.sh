# Shared helpers for the project's scripts. Source it; do not run it.

# Installs the Debian packages in "$@" that are not installed yet. Silent when nothing is missing.
ensure_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null; then
        echo "error: missing packages (${missing[*]}) and no apt-get to install them" >&2
        return 1
    fi
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "Installing: ${missing[*]}" >&2
    local log
    log=$(mktemp)
    if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
        echo "error: apt-get failed to install ${missing[*]}:" >&2
        tail -n 20 "$log" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
}

ensure_swift() {
    if ! command -v swift >/dev/null; then
        for dir in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
            [ -x "$dir/swift" ] && export PATH="$dir:$PATH" && return 0
        done
        echo "error: the Swift toolchain (6.1 or newer) is not on PATH; install it from swift.org first" >&2
        return 1
    fi
}

# Packages the server needs to build and run.
SERVER_PACKAGES=(pkg-config libavformat-dev libavcodec-dev libavutil-dev libsqlite3-dev ffmpeg)
# Extra packages the test suite drives as real peers.
TEST_PACKAGES=(gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
    gstreamer1.0-libav chromium chromium-driver python3-pip curl nginx libnginx-mod-rtmp libnginx-mod-stream openssl)
# Python packages the tests use as independent readers and drivers: the m3u8 parser and Selenium.
TEST_PYTHON_PACKAGES=(m3u8 selenium mutagen)

# Installs the Python packages in "$@" that the default python3 cannot import yet.
ensure_python_packages() {
    local missing=()
    for pkg in "$@"; do
        python3 -c "import $pkg" 2>/dev/null || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "Installing Python packages: ${missing[*]}" >&2
    local log
    log=$(mktemp)
    if ! python3 -m pip install --quiet --disable-pip-version-check "${missing[@]}" >"$log" 2>&1 &&
        ! python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "${missing[@]}" >"$log" 2>&1; then
        echo "error: pip failed to install ${missing[*]}:" >&2
        tail -n 20 "$log" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
}

# hls.js for the browser tests, as a classic script defining `window.Hls`, at .build/hlsjs/hls.js. Neither npm nor
# a CDN is reachable from every test machine, so it comes from PyPI: gradio's wheel carries hls.js 1.6.15 (a
# self-contained ES-module build, Apache-2.0). Both the wheel and the file are checked against pinned hashes. Silent
# when the file is already there.
HLSJS_WHEEL=gradio-6.31.0-py3-none-any.whl
HLSJS_WHEEL_SHA256=7b50b9b6a2d23cd02851ad4c8b1c8312c88d8b911d1f29c93f9761c98348a64a
HLSJS_MEMBER=gradio/templates/frontend/assets/hls-DKvqWxTe.js
HLSJS_MEMBER_SHA256=6692562e22d2d7b7325223f3cdc306c7bdad4e18b215a738817f84aa8832d4f2
ensure_hlsjs() {
    local dir=.build/hlsjs
    [ -f "$dir/hls.js" ] && [ -f "$dir/hls.mjs" ] && echo "$HLSJS_MEMBER_SHA256  $dir/hls.mjs" | sha256sum -c --status && return 0
    mkdir -p "$dir"
    if ! { [ -f "$dir/$HLSJS_WHEEL" ] && echo "$HLSJS_WHEEL_SHA256  $dir/$HLSJS_WHEEL" | sha256sum -c --status; }; then
        echo "Fetching hls.js (from the gradio wheel on PyPI)" >&2
        python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: --python-version 3.11 \
            -d "$dir" "gradio==6.31.0" >/dev/null || { echo "error: pip could not download gradio==6.31.0 for hls.js" >&2; return 1; }
    fi
    echo "$HLSJS_WHEEL_SHA256  $dir/$HLSJS_WHEEL" | sha256sum -c --status || { echo "error: $dir/$HLSJS_WHEEL: unexpected hash" >&2; return 1; }
    python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
        "$dir/$HLSJS_WHEEL" "$HLSJS_MEMBER" >"$dir/hls.mjs.tmp"
    echo "$HLSJS_MEMBER_SHA256  $dir/hls.mjs.tmp" | sha256sum -c --status || { echo "error: hls.js in $HLSJS_WHEEL: unexpected hash" >&2; return 1; }
    mv "$dir/hls.mjs.tmp" "$dir/hls.mjs"
    # The module's Hls class is the one with a static `version` getter; the wrapper drops the module's exports
    # (gradio's own helpers) and makes that class `window.Hls`, as hls.js's UMD build does.
    python3 - "$dir/hls.mjs" "$dir/hls.js" <<'PY'
import re, sys
source = open(sys.argv[1]).read().rstrip()
name = re.search(r'([A-Za-z_$][\w$]*)=class [A-Za-z_$][\w$]*\{static get version\(\)', source).group(1)
body = re.sub(r'export\{[^}]*\};?$', '', source)
open(sys.argv[2], "w").write("/* hls.js 1.6.15 (Apache-2.0), from gradio 6.31.0's wheel */\n(function(){\n" + body +
                             "\nwindow.Hls=" + name + ";\n})();\n")
PY
}
