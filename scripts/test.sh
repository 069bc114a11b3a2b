#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs Chromium and its
# ChromeDriver for the browser tests when missing, makes sure PostgreSQL is up
# on 127.0.0.1:5432 (user postgres, trust auth) for the conformance suite,
# checks formatting and lints (warnings are errors), then runs every test of
# the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

# The browser tests drive Debian's Chromium through its ChromeDriver.
if ! command -v chromedriver >/dev/null 2>&1 || [ ! -x /usr/bin/chromium ]; then
    echo "installing Chromium and ChromeDriver (browser tests)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if ! pg_up; then
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        echo "installing PostgreSQL" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    for version in $(ls /etc/postgresql); do
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
    for _ in $(seq 1 60); do
        pg_up && break
        sleep 1
    done
    pg_up || { echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1; }
fi

# rustfmt and clippy come with rustup's default profile; add them where missing.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    rustup component add rustfmt clippy
fi
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

cargo test --workspace --locked
