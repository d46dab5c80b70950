# Sourced by quickstart.sh and test.sh: a virtualenv in .venv with the project
# installed. pip's output goes to a log (shown only when it fails), and the
# install is skipped when pyproject.toml has not changed since the last one.

pick_python() {
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
  local candidate
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 14))' 2>/dev/null; then
      echo "$candidate"; return
    fi
  done
  echo "error: needs Python 3.11, 3.12 or 3.13 (set PYTHON=/path/to/python)" >&2
  return 1
}

# ensure_venv [extra]: e.g. `ensure_venv test` installs ".[test]".
ensure_venv() {
  local target="." log=".venv/pip.log"
  [ -n "${1:-}" ] && target=".[$1]"
  if [ ! -x .venv/bin/python ]; then
    local python
    python=$(pick_python) || exit 1
    echo "Creating .venv with $("$python" --version 2>&1) ..."
    "$python" -m venv .venv || {
      echo "error: '$python -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)" >&2
      exit 1
    }
  fi
  local stamp=".venv/.installed-${1:-base}"
  local wanted
  wanted=$(.venv/bin/python -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())' <pyproject.toml)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    return 0
  fi
  # An install with an extra (test) has the base too.
  if [ -z "${1:-}" ] && grep -qxF "$wanted" .venv/.installed-* 2>/dev/null; then
    return 0
  fi
  # Two runs sharing a .venv must not reinstall at the same time.
  if command -v flock >/dev/null 2>&1; then
    exec 9>.venv/.install.lock
    flock 9
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
      exec 9>&-
      return 0
    fi
  fi
  echo "Installing dependencies into .venv (log: $log) ..."
  if ! { .venv/bin/python -m pip install --upgrade pip &&
         .venv/bin/python -m pip install -e "$target"; } >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "error: pip install failed; full log in $log" >&2
    exit 1
  fi
  echo "$wanted" >"$stamp"
  exec 9>&-
}
