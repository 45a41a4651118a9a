#!/bin/sh
# Set up everything the project needs, then run one of:
#   ./dev.sh demo [p2pobs demo options]   simulate a hospital network and serve the dashboard
#   ./dev.sh test [pytest options]        the whole test suite
#   ./dev.sh p2pobs ARGS…                 any p2pobs command
# Needs only Python 3.11+ and the package registries; everything else is installed here:
# Python packages into .venv from the committed uv.lock, and Chromium for the browser tests.
set -eu
cd "$(dirname "$0")"

UV_VERSION=0.13.8
export UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=.venv

python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

setup_python() {
    if [ ! -x .venv/bin/uv ]; then
        python_ok python3 || { echo "P2P Observatory needs Python 3.11 or newer as python3" >&2; exit 1; }
        python3 -m venv .venv
        .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
    fi
    # --inexact keeps uv itself, which the lock file does not list.
    .venv/bin/uv sync --locked --inexact --quiet
}

setup_browser() {
    command -v chromium >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing Chromium for the browser tests (Debian package) …"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "warning: Chromium not found and cannot be installed here; browser tests will be skipped" >&2
    fi
}

command=${1:-demo}
[ $# -gt 0 ] && shift
case "$command" in
    demo)   setup_python; exec .venv/bin/p2pobs demo "$@" ;;
    test)   setup_python; setup_browser; exec .venv/bin/python -m pytest "$@" ;;
    p2pobs) setup_python; exec .venv/bin/p2pobs "$@" ;;
    *)      echo "usage: ./dev.sh demo|test|p2pobs [ARGS…]" >&2; exit 2 ;;
esac
