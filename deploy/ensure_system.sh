#!/usr/bin/env bash
# Re-runnable: make sure the system programs Cartable needs are present.
# Installs Debian packages only when a program is missing and only when root;
# otherwise says what to install. Each ensure_* step is safe to run again.
set -euo pipefail

missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }

ensure_programs() {
  need python3 python3
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
  need node nodejs
  need npm npm
  need git git
  # The test harness starts a throwaway PostgreSQL when none is configured.
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  need useradd passwd
  # The Celery back-end of the grader is tested against a real Redis (started when none runs).
  need redis-server redis-server
  # Browser tests drive Debian's Chromium with Playwright (never a downloaded browser).
  need chromium chromium
  # The grading sandbox's seccomp filter is compiled by libseccomp (pyseccomp loads it).
  ls /usr/lib/*/libseccomp.so.2 >/dev/null 2>&1 || ls /lib/*/libseccomp.so.2 >/dev/null 2>&1 || missing+=(libseccomp2)
}

ensure_installed() {
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "Missing system packages: ${missing[*]}" >&2
    echo "Install them (as root: apt-get install ${missing[*]}) and run this again." >&2
    exit 1
  fi
}

# Pupils' servers run under their own accounts and must reach the checkout's
# virtual environment: every directory above it needs the execute (traverse) bit.
ensure_traversable() {
  [ "$(id -u)" -eq 0 ] || return 0
  local dir
  dir=$(cd "$1" && pwd)
  while [ "$dir" != "/" ]; do
    if [ "$(( 0$(stat -c %a "$dir") & 01 ))" -eq 0 ]; then
      echo "Letting pupil accounts traverse $dir (chmod o+x; contents stay unlisted)"
      chmod o+x "$dir"
    fi
    dir=$(dirname "$dir")
  done
}

ensure_programs
ensure_installed
ensure_traversable "${1:-.}"
