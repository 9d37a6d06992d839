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
  # The hub limits what pupils' code may connect to with an nftables table of its own.
  need nft nftables
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

# The course library's solutions and hidden tests (courses/, the generators in courses/tools/),
# the tests' fixtures and git's objects are readable by root only: pupils reach lessons through
# the lessons service, assignments through fetch, and teachers copy from the library with
# `cartable library copy`. The hub refuses to start while any of them is readable by others.
ensure_private_sources() {
  [ "$(id -u)" -eq 0 ] || return 0
  local top path
  top=$(cd "$1" && pwd)
  for path in courses tests .git; do
    [ -e "$top/$path" ] || continue
    if [ -n "$(find "$top/$path" -maxdepth 0 -perm /077)" ]; then
      echo "Making $top/$path readable by root only (solutions and hidden tests)"
      chmod -R go-rwx "$top/$path"
    fi
  done
}

ensure_programs
ensure_installed
ensure_traversable "${1:-.}"
ensure_private_sources "${1:-.}"
