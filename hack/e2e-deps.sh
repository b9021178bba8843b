#!/bin/sh
# Installs what an end-to-end engine test (or the benchmark) needs on Debian
# 12, only when it is missing: hack/e2e-deps.sh containerd|docker|bench. dpkg must not start the
# daemons it installs on this host (no systemd here: the init.d scripts
# would run them for real), so a policy-rc.d that refuses every start is in
# place during the install.
set -eu
need=""
want() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || need="$need $1"; }
for engine in "$@"; do
	case $engine in
	containerd) for p in containerd jq bsdutils busybox-static; do want "$p"; done ;;
	docker) for p in docker.io containerd jq bsdutils busybox-static; do want "$p"; done ;;
	bench) for p in runc crun hyperfine time jq util-linux busybox-static; do want "$p"; done ;;
	*) echo "hack/e2e-deps.sh: unknown engine $engine (containerd, docker or bench)" >&2; exit 2 ;;
	esac
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "hack/e2e-deps.sh $*: needs$need (run as root)" >&2
	exit 1
fi
echo "installing:$need"
made_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 0755 /usr/sbin/policy-rc.d
	made_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
rc=0
# shellcheck disable=SC2086 # $need is a word list
apt-get install -y -q $need </dev/null >/dev/null || { apt-get update -q </dev/null >/dev/null && apt-get install -y -q $need </dev/null >/dev/null; } || rc=$?
[ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
exit $rc
