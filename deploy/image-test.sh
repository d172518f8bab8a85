#!/usr/bin/env bash
# `make image-test`: builds vidgate's container image on this machine and makes a job through it.
#
# No registry image can be pulled here, so the base is made from Debian's own packages
# (mmdebstrap -> podman import) and passed as BASE. `podman run` needs cgroups this machine does
# not give, so `vidgate serve` runs from the built image with `buildah run --isolation chroot`,
# which shares the host's loopback. Checked: the image builds; it runs as a non-root user; its
# HEALTHCHECK and volume are declared; `vidgate serve` from it answers /healthz; a job made through
# it ends `succeeded` and its stored video is the one served back (same bytes, same sha256);
# everything it wrote in /data belongs to its user and is closed to others.
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE=bookworm
BASE_IMAGE=localhost/vidgate-base:$SUITE
IMAGE=localhost/vidgate:test
WORK=var/image
PORT=${VIDGATE_IMAGE_TEST_PORT:-18765}
mkdir -p "$WORK"

say() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

say "base image from Debian's packages ($SUITE)"
if ! podman image exists "$BASE_IMAGE"; then
  if [ ! -s "$WORK/base-$SUITE.tar" ]; then
    mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates \
      "$SUITE" "$WORK/base-$SUITE.tar.part" http://deb.debian.org/debian
    mv "$WORK/base-$SUITE.tar.part" "$WORK/base-$SUITE.tar"
  fi
  podman import --quiet "$WORK/base-$SUITE.tar" "$BASE_IMAGE" >/dev/null
fi

say "build (BASE=$BASE_IMAGE)"
# This machine reaches PyPI through a TLS-intercepting proxy: the build trusts the host's CAs.
CA=/etc/ssl/certs/ca-certificates.crt
podman build --quiet --isolation chroot --format docker \
  --build-arg BASE="$BASE_IMAGE" --build-arg CA_BUNDLE="$CA" -v "$CA:$CA:ro" \
  -t "$IMAGE" -f Containerfile . >/dev/null

say "image configuration"
user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
health=$(podman image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE")
volumes=$(podman image inspect --format '{{json .Config.Volumes}}' "$IMAGE")
cmd=$(podman image inspect --format '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' "$IMAGE")
echo "user=$user volumes=$volumes command=$cmd"
echo "healthcheck=$health"
case "$user" in ""|root|0|0:*|root:*) fail "the image runs as root ($user)";; esac
[[ "$health" == *healthz* ]] || fail "no HEALTHCHECK on /healthz"
[[ "$volumes" == *'"/data"'* ]] || fail "/data is not a volume"
[[ "$cmd" == '["vidgate"] ["serve"]' ]] || fail "the default command is not vidgate serve: $cmd"

ctr=$(buildah from --quiet "$IMAGE")
serve_pid=""
cleanup() {
  if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
  buildah rm "$ctr" >/dev/null 2>&1 || true
}
trap cleanup EXIT

say "the user inside"
uid=$(buildah run --isolation chroot "$ctr" -- id -u)
[ "$uid" != 0 ] || fail "commands in the image run as root"
echo "uid=$uid"

say "vidgate serve from the image on 127.0.0.1:$PORT"
buildah run --isolation chroot --env VIDGATE_HOST=127.0.0.1 --env VIDGATE_PORT="$PORT" "$ctr" \
  -- vidgate serve >"$WORK/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 1 90); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >"$WORK/healthz.json" 2>/dev/null && break
  kill -0 "$serve_pid" 2>/dev/null || { cat "$WORK/serve.log"; fail "vidgate serve exited"; }
  sleep 1
done
[ -s "$WORK/healthz.json" ] || { cat "$WORK/serve.log"; fail "/healthz never answered"; }
cat "$WORK/healthz.json"; echo

say "a job through it"
curl -sf "http://127.0.0.1:$PORT/v1/generations?wait=60" -H 'content-type: application/json' \
  -d '{"endpoint": "text_to_video", "model": "gen4.5", "promptText": "a lighthouse at dusk",
       "ratio": "1280:720", "duration": 5}' >"$WORK/job.json" || fail "the create failed"
python3 - "$WORK/job.json" "$PORT" "$WORK/video.mp4" <<'PY'
import hashlib, json, sys, urllib.request
job = json.load(open(sys.argv[1]))
assert job["status"] == "succeeded", f"job ended {job['status']}: {job.get('failure')}"
out = job["output"]
url = f"http://127.0.0.1:{sys.argv[2]}/v1/generations/{job['id']}/video"
body = urllib.request.urlopen(url, timeout=30).read()
open(sys.argv[3], "wb").write(body)
assert len(body) == out["bytes"], (len(body), out["bytes"])
assert hashlib.sha256(body).hexdigest() == out["sha256"]
assert body[4:8] == b"ftyp", "not an MP4"
print(f"job {job['id']} succeeded: {out['bytes']} bytes, {out['width']}x{out['height']}, "
      f"sha256 {out['sha256'][:16]}..., served back identical")
PY

say "who owns what it stored, and who may read it"
owners=$(buildah run --isolation chroot "$ctr" -- sh -c 'find /data -mindepth 1 ! -user vidgate | head -5')
[ -z "$owners" ] || fail "files in /data not owned by vidgate: $owners"
open=$(buildah run --isolation chroot "$ctr" -- sh -c 'find /data -perm /077 | head -5')
[ -z "$open" ] || fail "files in /data open to other users: $open"
buildah run --isolation chroot "$ctr" -- sh -c 'stat -c "%U %a %n" /data /data/vidgate.db'

echo
echo "image-test passed: $IMAGE"
