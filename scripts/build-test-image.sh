#!/bin/sh
# Builds the test image `tender-busybox:latest` from Debian's busybox-static (/bin/busybox):
# an empty root with /bin/busybox, a symlink per applet (sh, httpd, nc, sleep, wget, ...),
# /tmp, /etc/passwd, and a default CMD of `sh`. Nothing is pulled from any registry.
#
# Idempotent: does nothing when the image exists and was built from the same busybox binary
# (tracked by the label tender.busybox.sha256). `--force` rebuilds anyway.
#
# Usage: scripts/build-test-image.sh [--force]   (env: IMAGE, BUSYBOX, DOCKER)
set -eu

IMAGE="${IMAGE:-tender-busybox:latest}"
BUSYBOX="${BUSYBOX:-/bin/busybox}"
DOCKER="${DOCKER:-docker}"
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

if [ ! -x "$BUSYBOX" ]; then
  echo "build-test-image: $BUSYBOX not found (apt-get install busybox-static)" >&2
  exit 1
fi

sum=$(sha256sum "$BUSYBOX" | cut -d' ' -f1)
if [ "$FORCE" = 0 ]; then
  have=$($DOCKER image inspect --format '{{ index .Config.Labels "tender.busybox.sha256" }}' \
    "$IMAGE" 2>/dev/null || true)
  if [ "$have" = "$sum" ]; then
    echo "build-test-image: $IMAGE is up to date"
    exit 0
  fi
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT INT TERM
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/www" "$root/root"
chmod 1777 "$root/tmp"
cp "$BUSYBOX" "$root/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
  >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
echo ok >"$root/www/index.html"

tar -C "$root" -c . | $DOCKER import \
  --change 'CMD ["sh"]' \
  --change 'ENV PATH=/bin' \
  --change "LABEL tender.busybox.sha256=$sum" \
  - "$IMAGE" >/dev/null
echo "build-test-image: built $IMAGE"
