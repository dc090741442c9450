#!/usr/bin/env bash
# Install the Debian packages Huiquan Ledger needs.
#
#   scripts/system-deps.sh run    what serving needs (`make run`)
#   scripts/system-deps.sh test   that, plus what the test suite needs (`make test`; the default)
#
# Idempotent and fast: it asks dpkg what is already there and does nothing
# (no apt-get update, no network) when everything is present.
#   run:
#   - fonts-noto-cjk            CJK glyphs for donor receipts (Noto Sans/Serif CJK)
#   - libpango-1.0-0, libpangoft2-1.0-0, libharfbuzz-subset0, fontconfig
#                               WeasyPrint's runtime libraries (loaded with cffi)
#   test, in addition:
#   - poppler-utils             pdftoppm / pdftotext, used by receipt tests
#   - chromium                  headless browser tests (/usr/bin/chromium)
#   - postgresql-client         psql / pg_isready (skipped when they are on PATH)
#
# As root, missing packages are installed with apt-get (one `apt-get update`
# first). As any other user it prints one line naming what to install and
# exits 0, so `make` goes on.
set -euo pipefail

profile="${1:-test}"

RUN_PACKAGES=(
  fonts-noto-cjk
  fontconfig
  libpango-1.0-0
  libpangoft2-1.0-0
  libharfbuzz-subset0
)
TEST_PACKAGES=(
  poppler-utils
  chromium
)

case "$profile" in
  run) PACKAGES=("${RUN_PACKAGES[@]}") ;;
  test) PACKAGES=("${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}") ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done
# Any postgresql-client-NN satisfies us; only ask for the meta package when
# the tools themselves are absent.
if [ "$profile" = test ] \
  && { ! command -v psql >/dev/null 2>&1 || ! command -v pg_isready >/dev/null 2>&1; }; then
  missing+=(postgresql-client)
fi

if [ "${#missing[@]}" -eq 0 ]; then
  echo "system-deps ($profile): all present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing Debian packages; run as root: apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: missing ${missing[*]} and apt-get is not available; install them by hand" >&2
  exit 1
fi

echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)
apt-get "${APT_OPTS[@]}" update -qq
apt-get "${APT_OPTS[@]}" install -y -q --no-install-recommends "${missing[@]}" </dev/null

# Make the freshly installed fonts visible to fontconfig right away.
if command -v fc-cache >/dev/null 2>&1; then
  fc-cache -f >/dev/null 2>&1 || true
fi

still=()
for pkg in "${missing[@]}"; do
  [ "$pkg" = postgresql-client ] && continue
  installed "$pkg" || still+=("$pkg")
done
if [ "${#still[@]}" -ne 0 ]; then
  echo "system-deps: apt-get did not install: ${still[*]}" >&2
  exit 1
fi
echo "system-deps: done"
