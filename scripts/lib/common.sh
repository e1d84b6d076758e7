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
