#!/usr/bin/env bash
# zoa — run make targets the way a new user would: in a freshly bootstrapped Debian 12 (debootstrap chroot), from a
# `git clone` of this repository (committed files only), as root, after the README's one manual step
# (`apt-get update && apt-get install make`). Each target must install what it needs itself (tools/install-deps.sh).
# usage (as root, on a Debian/Ubuntu host with debootstrap):
#   tools/fresh-machine.sh TARGET...          e.g. tools/fresh-machine.sh demo test
# Per target it prints one line: target, exit status, wall time, the load average before/after and the Debian
# packages that target's install-deps installed; the full output goes to <chroot>/root/fresh-<target>.log.
# Environment (all optional):
#   FRESH_BASE=file.tar   start from this tarball of a debootstrap tree instead of running debootstrap (a copy of a
#                         pristine `debootstrap --include=git,ca-certificates bookworm DIR` saves the download)
#   FRESH_DIR=/path       chroot directory (default: a new /tmp/zoa-fresh.XXXXXX; must not exist or be empty)
#   FRESH_MIRROR=URL      Debian mirror for debootstrap (default http://deb.debian.org/debian)
#   FRESH_CCACHE=/path    a ccache directory bind-mounted into the chroot (ccache installed there, used as the
#                         compiler launcher). It holds compiled objects only: preprocessing and the header checks of
#                         direct mode run inside the chroot, so a missing package still fails the build.
#   FRESH_ENV="K=V ..."   extra environment for the targets (e.g. "FUZZ_SECONDS=15 JOBS=2")
#   FRESH_NICE=10         nice level of the targets (default 10)
#   FRESH_KEEP=1          keep the chroot directory (it is always unmounted)
# Exit status: 0 when every target passed, 1 otherwise, 2 on a setup error.
set -euo pipefail

[ $# -gt 0 ] || { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "fresh-machine.sh: run as root (debootstrap, mount, chroot)" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${FRESH_DIR:-$(mktemp -d /tmp/zoa-fresh.XXXXXX)}
mkdir -p "$dir"
[ -z "$(ls -A "$dir")" ] || { echo "fresh-machine.sh: $dir is not empty" >&2; exit 2; }

mounts=()
cleanup() {
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" || true; done
  [ "${FRESH_KEEP:-0}" = 1 ] || rm -rf --one-file-system "$dir"
}
trap cleanup EXIT
bind() { mkdir -p "$2"; mount "${@:3}" "$1" "$2"; mounts+=("$2"); }

t0=$(date +%s)
if [ -n "${FRESH_BASE:-}" ]; then
  tar -C "$dir" -xf "$FRESH_BASE"
else
  command -v debootstrap >/dev/null || { echo "fresh-machine.sh: needs debootstrap (apt-get install debootstrap)" >&2; exit 2; }
  debootstrap --include=git,ca-certificates bookworm "$dir" "${FRESH_MIRROR:-http://deb.debian.org/debian}" \
    > "$dir.debootstrap.log" 2>&1 || { tail -20 "$dir.debootstrap.log"; exit 2; }
fi
echo "fresh-machine: Debian $(cat "$dir/etc/debian_version") in $dir ($(( $(date +%s) - t0 )) s)"
bind proc "$dir/proc" -t proc
bind sys "$dir/sys" -t sysfs
bind /dev "$dir/dev" --bind
bind /dev/pts "$dir/dev/pts" --bind
cp /etc/resolv.conf "$dir/etc/resolv.conf"
git clone -q "$repo" "$dir/root/zoa"
echo "fresh-machine: cloned $(git -C "$dir/root/zoa" log -1 --format='%h %s' | cut -c1-80)"

in_chroot() { chroot "$dir" /usr/bin/env -i HOME=/root TERM=dumb PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
# the README's one manual step on a minimal Debian
in_chroot bash -c 'apt-get update -qq && apt-get install -y -qq make' > "$dir/root/fresh-make.log" 2>&1 ||
  { cat "$dir/root/fresh-make.log"; exit 2; }
env=()
if [ -n "${FRESH_CCACHE:-}" ]; then
  bind "$FRESH_CCACHE" "$dir/ccache" --bind
  in_chroot bash -c 'apt-get install -y -qq --no-install-recommends ccache' > "$dir/root/fresh-ccache.log" 2>&1 ||
    { cat "$dir/root/fresh-ccache.log"; exit 2; }
  env+=(CCACHE_DIR=/ccache CCACHE_BASEDIR=/root/zoa CCACHE_COMPILERCHECK=content CMAKE_CXX_COMPILER_LAUNCHER=ccache
        CMAKE_C_COMPILER_LAUNCHER=ccache)
fi
# shellcheck disable=SC2206
env+=(${FRESH_ENV:-})

status=0
for target in "$@"; do
  log="$dir/root/fresh-$target.log"
  before=$(cut -d' ' -f1 /proc/loadavg)
  start=$(date +%s)
  set +e
  nice -n "${FRESH_NICE:-10}" chroot "$dir" /usr/bin/env -i HOME=/root TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${env[@]}" \
    bash -c 'cd /root/zoa && make "$1"' make "$target" > "$log" 2>&1
  rc=$?
  set -e
  wall=$(( $(date +%s) - start ))
  pkgs=$(sed -n 's/^install-deps: installing Debian packages: //p' "$log" | tr '\n' ' ')
  [ "$rc" -eq 0 ] || status=1
  printf 'fresh-machine: make %-18s %s  %4d min %02d s  load %s -> %s  installed: %s\n' "$target" \
    "$([ "$rc" -eq 0 ] && echo "passed" || echo "FAILED (exit $rc)")" $((wall / 60)) $((wall % 60)) "$before" \
    "$(cut -d' ' -f1 /proc/loadavg)" "${pkgs:-nothing}"
  [ "$rc" -eq 0 ] || tail -30 "$log"
done
[ "${FRESH_KEEP:-0}" = 1 ] && echo "fresh-machine: logs in $dir/root/fresh-*.log (chroot kept, unmounted)"
exit $status
