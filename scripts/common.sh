# scripts/common.sh - shared by scripts/quickstart and scripts/test; sourced,
# not run. Keeps both commands idempotent: install only what is missing,
# configure only once, then let `meson compile` do the incremental work.

# Run from the repository root whatever the caller's working directory.
VOW_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$VOW_ROOT"

# The build directory; override with VOW_BUILD_DIR=... to keep several.
BUILD_DIR=${VOW_BUILD_DIR:-build}

# Debian/Ubuntu packages vow needs to build, test and run its examples.
VOW_PACKAGES=(g++ meson ninja-build pkg-config libevent-dev libfmt-dev libboost-test-dev libssl-dev openssl zlib1g-dev libpq-dev nlohmann-json3-dev cmake liburing-dev)

say() { printf '==> %s\n' "$*"; }

# Installs the packages in VOW_PACKAGES that dpkg does not list as installed.
# Runs `apt-get update` once, and only if something has to be installed.
ensure_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        say "no dpkg-query: not a Debian-like system, assuming these are installed: ${VOW_PACKAGES[*]}"
        return 0
    fi
    local missing=() pkg
    for pkg in "${VOW_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    local sudo=()
    if ((EUID != 0)); then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "error: missing packages (${missing[*]}) and no sudo; install them as root" >&2
            return 1
        fi
        sudo=(sudo)
    fi
    say "installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Runs a command with its output held back; shows it only if the command fails.
quietly() {
    local log rc=0
    log=$(mktemp)
    "$@" >"$log" 2>&1 || rc=$?
    if ((rc != 0)); then
        cat "$log" >&2
    fi
    rm -f "$log"
    return "$rc"
}

# Configures BUILD_DIR with the given options unless it is already configured.
# An existing directory keeps its options; `meson compile` regenerates it when
# a meson.build changes.
ensure_configured() {
    if [[ -f "$BUILD_DIR/meson-private/coredata.dat" ]]; then
        return 0
    fi
    say "configuring $BUILD_DIR/ $*"
    quietly meson setup "$BUILD_DIR" "$@"
}

# Sets a build option of BUILD_DIR unless it already has that value (changing
# an option costs a regeneration, and compiler flags a rebuild).
ensure_option() {
    local name=$1 value=$2 current
    current=$(meson introspect "$BUILD_DIR" --buildoptions | python3 -c '
import json, sys
print(next((str(o["value"]).lower() for o in json.load(sys.stdin) if o["name"] == sys.argv[1]), ""))
' "$name")
    if [[ "$current" != "$value" ]]; then
        say "setting $name=$value in $BUILD_DIR/"
        quietly meson configure "$BUILD_DIR" "-D$name=$value"
    fi
}

# Builds BUILD_DIR: everything, or only the targets named (meson compile's
# target names, such as test_reactor).
build() {
    say "building $BUILD_DIR/${*:+ ($*)}"
    quietly meson compile -C "$BUILD_DIR" "$@"
}
