#!/usr/bin/env bash
# System libraries the Python packages cannot bring: libturbojpeg, for the photo pipeline's planar JPEG decode
# (see photo_pipeline/turbojpeg.py). Installed with apt when missing and we may; otherwise the pipeline runs on
# its slower fallback decoder and this says so. Under CI=true a missing library is an error.
set -euo pipefail
have_turbojpeg() {
  ldconfig -p 2>/dev/null | grep -q 'libturbojpeg\.so' || [ -e /usr/local/lib/libturbojpeg.so.0 ] \
    || [ -e /opt/homebrew/lib/libturbojpeg.dylib ] || [ -e /usr/local/opt/jpeg-turbo/lib/libturbojpeg.dylib ]
}
if have_turbojpeg; then
  exit 0
fi
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "installing libturbojpeg0 (Debian package) for the photo pipeline's fast decoder" >&2
  apt-get install -y -qq libturbojpeg0 >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libturbojpeg0 >/dev/null; }
fi
if ! have_turbojpeg; then
  echo "libturbojpeg not found: photo verification falls back to a ~25 ms slower decoder." >&2
  echo "  Debian/Ubuntu: apt-get install libturbojpeg0   macOS: brew install jpeg-turbo" >&2
  [ "${CI:-}" != "true" ] || exit 1
fi
