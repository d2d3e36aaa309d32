#!/usr/bin/env bash
# Provisions the Vagrant clusters of the repository's Vagrantfile.
#
#   provision.sh server NODE DATACENTER IP JOIN[,JOIN...]
#       Install the switchyard binary, write /etc/switchyard.d/server.hcl
#       (a server of a three-server cluster that bootstraps once it sees
#       the servers at JOIN, each IP:PORT of LAN gossip), a systemd unit, and
#       start the agent. Re-running rewrites the same files and restarts the
#       agent only if the binary, config or unit changed.
#
#   provision.sh peer ACCEPTOR ACCEPTOR_HTTP[,...] DIALER DIALER_HTTP[,...]
#       Wait for both clusters to have a leader, generate a peering token
#       on ACCEPTOR (its peering named DIALER) and establish it from DIALER
#       (its peering named ACCEPTOR), then wait until it is ACTIVE. Does
#       nothing if DIALER already has that peering, so re-provisioning never
#       replaces a working peering.
#
# Environment:
#   SWITCHYARD_PROVISION_ROOT  render mode: write the files under this
#                              directory (ROOT/etc/switchyard.d/server.hcl,
#                              ROOT/etc/systemd/system/switchyard.service, ...)
#                              and install, create and start nothing. The
#                              scenario tests render every server this way
#                              and have the binary validate the result.
#   SWITCHYARD_BINARY          binary to install (default /vagrant/bin/switchyard)
#   SWITCHYARD_PEER_WAIT       seconds to wait for leaders and for the peering
#                              to become active (default 300)
set -euo pipefail

readonly ROOT="${SWITCHYARD_PROVISION_ROOT:-}"
readonly BINARY_SRC="${SWITCHYARD_BINARY:-/vagrant/bin/switchyard}"
readonly BIN=/usr/local/bin/switchyard
readonly CONF_DIR=/etc/switchyard.d
readonly DATA_DIR=/opt/switchyard/data
readonly UNIT=/etc/systemd/system/switchyard.service
readonly PROFILE=/etc/profile.d/switchyard.sh
readonly HTTP_PORT=8500
readonly PEER_WAIT="${SWITCHYARD_PEER_WAIT:-300}"

log() { echo "switchyard-provision: $*"; }
die() {
	echo "switchyard-provision: error: $*" >&2
	exit 1
}

usage() {
	die "usage: $0 server NODE DATACENTER IP JOIN[,JOIN...] | $0 peer ACCEPTOR ACCEPTOR_HTTP[,...] DIALER DIALER_HTTP[,...]"
}

is_ipv4() {
	local IFS=. a b c d
	[[ $1 =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || return 1
	read -r a b c d <<<"$1"
	# 10# so that an octet such as 08 is not read as octal.
	((10#$a <= 255 && 10#$b <= 255 && 10#$c <= 255 && 10#$d <= 255))
}

# Names go into HCL strings and unit files unquoted: keep them to the
# characters a node or datacenter name may have anyway.
is_name() { [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ ]]; }

# changed is set to 1 when any installed file differs from what was there.
changed=0

# put SRC DEST MODE: install SRC at ROOT/DEST unless it is already there.
put() {
	local src=$1 dest=$ROOT$2 mode=$3
	if [[ -f $dest ]] && cmp -s "$src" "$dest"; then
		return 0
	fi
	mkdir -p "$(dirname "$dest")"
	install -m "$mode" "$src" "$dest"
	changed=1
	log "wrote $dest"
}

render_config() {
	local node=$1 dc=$2 ip=$3 joins=$4 join list=""
	local -a join_addrs
	IFS=, read -r -a join_addrs <<<"$joins"
	for join in "${join_addrs[@]}"; do
		[[ $join =~ ^([0-9.]+):([0-9]+)$ ]] && is_ipv4 "${BASH_REMATCH[1]}" ||
			die "join address \"$join\" is not IP:PORT"
		list+="${list:+, }\"$join\""
	done
	cat <<EOF
# Written by deploy/vagrant/provision.sh; re-provisioning rewrites it.
# One server of a three-server cluster: it bootstraps Raft once it sees
# the other two in gossip through retry_join.
server           = true
bootstrap_expect = 3
node_name        = "$node"
datacenter       = "$dc"
data_dir         = "$DATA_DIR"
# The VM has a NAT interface and the private network: bind and advertise
# the private address explicitly, since a default would be ambiguous.
bind_addr        = "$ip"
advertise_addr   = "$ip"
# The HTTP API on the private network, so that the peering step (and the
# host) reach every server; SWITCHYARD_HTTP_ADDR points the CLI at it.
client_addr      = "$ip"
retry_join       = [$list]
log_level        = "info"
EOF
}

render_unit() {
	cat <<EOF
# Written by deploy/vagrant/provision.sh.
[Unit]
Description=Switchyard server agent
Wants=network-online.target
After=network-online.target

[Service]
User=switchyard
Group=switchyard
# A broken config fails here with the binary's own message, before start.
ExecStartPre=$BIN agent -config-dir $CONF_DIR -validate-config
ExecStart=$BIN agent -config-dir $CONF_DIR
# SIGTERM makes the agent leave gracefully: a leader hands leadership over
# first, and leaving waits up to about 20 s for gossip and Raft.
KillSignal=SIGTERM
TimeoutStopSec=30
Restart=on-failure
RestartSec=2
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
EOF
}

provision_server() {
	(($# == 4)) || usage
	local node=$1 dc=$2 ip=$3 joins=$4
	is_name "$node" || die "node name \"$node\" may hold only letters, digits, '-' and '_'"
	is_name "$dc" || die "datacenter \"$dc\" may hold only letters, digits, '-' and '_'"
	is_ipv4 "$ip" || die "\"$ip\" is not an IPv4 address"
	[[ -n $joins ]] || die "no join addresses: a server needs the other servers of its cluster"

	# Global, not local: the EXIT trap runs after this function returns.
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT

	if [[ -z $ROOT ]]; then
		[[ $EUID -eq 0 ]] || die "run as root (Vagrant's shell provisioner does), or set SWITCHYARD_PROVISION_ROOT to render only"
		[[ -x $BINARY_SRC ]] || die "no binary at $BINARY_SRC: build it on the host first with
  GOOS=linux GOARCH=amd64 go build -o bin/switchyard ./cmd/switchyard
then copy it into the machines and provision again with
  vagrant rsync && vagrant provision"
		put "$BINARY_SRC" "$BIN" 0755
		if ! id -u switchyard >/dev/null 2>&1; then
			useradd --system --home-dir /opt/switchyard --no-create-home --shell /usr/sbin/nologin switchyard
			log "created user switchyard"
		fi
		install -d -m 0750 -o switchyard -g switchyard /opt/switchyard "$DATA_DIR"
	fi

	render_config "$node" "$dc" "$ip" "$joins" >"$tmp/server.hcl"
	render_unit >"$tmp/switchyard.service"
	echo "export SWITCHYARD_HTTP_ADDR=$ip:$HTTP_PORT" >"$tmp/profile.sh"
	put "$tmp/server.hcl" "$CONF_DIR/server.hcl" 0644
	put "$tmp/switchyard.service" "$UNIT" 0644
	put "$tmp/profile.sh" "$PROFILE" 0644

	if [[ -n $ROOT ]]; then
		log "render mode: files for $node are under $ROOT; nothing installed or started"
		return 0
	fi

	# The same check the unit runs before each start, here so that a bad
	# config fails the provisioning with the binary's message.
	"$BIN" agent -config-dir "$CONF_DIR" -validate-config
	systemctl daemon-reload
	systemctl enable --quiet switchyard
	if ((changed)) && systemctl is-active --quiet switchyard; then
		log "binary, config or unit changed: restarting switchyard"
		systemctl restart switchyard
	else
		systemctl start switchyard
	fi
	log "$node is running; HTTP API at $ip:$HTTP_PORT"
}

# leader_addr NAME ADDRS: print the first of the comma-separated HTTP
# addresses whose cluster reports a Raft leader, waiting up to PEER_WAIT.
leader_addr() {
	local name=$1 addrs=$2 addr deadline=$((SECONDS + PEER_WAIT))
	local -a list
	IFS=, read -r -a list <<<"$addrs"
	while ((SECONDS < deadline)); do
		for addr in "${list[@]}"; do
			if "$BIN" operator raft list-peers -http-addr "$addr" 2>/dev/null | grep -qw leader; then
				echo "$addr"
				return 0
			fi
		done
		sleep 2
	done
	die "$name has no Raft leader after ${PEER_WAIT}s (asked $addrs); check 'journalctl -u switchyard' on its servers"
}

# peering_state ADDR NAME: the State of peering NAME, or nothing if absent.
peering_state() {
	"$BIN" peering read -name "$2" -http-addr "$1" 2>/dev/null | awk '$1 == "State:" { print $2 }' || true
}

provision_peering() {
	(($# == 4)) || usage
	local acceptor=$1 acceptor_addrs=$2 dialer=$3 dialer_addrs=$4
	is_name "$acceptor" && is_name "$dialer" || die "cluster names may hold only letters, digits, '-' and '_'"
	if [[ -n $ROOT ]]; then
		log "render mode: would peer $dialer (dials) with $acceptor (accepts); nothing to render"
		return 0
	fi
	[[ -x $BIN ]] || die "$BIN is missing: provision this machine as a server first"

	local a d state token attempt
	a=$(leader_addr "$acceptor" "$acceptor_addrs")
	d=$(leader_addr "$dialer" "$dialer_addrs")
	log "$acceptor has a leader (asked $a), $dialer has a leader (asked $d)"

	# Idempotence: the dialer's record says whether a peering exists. An
	# existing one is left alone, even FAILING: the dialer keeps
	# redialing by itself, and a new token would only replace its secret.
	state=$(peering_state "$d" "$acceptor")
	case $state in
	ACTIVE | ESTABLISHING | FAILING)
		log "$dialer already has peering $acceptor (state $state); leaving it as it is"
		;;
	DELETING)
		die "$dialer's peering $acceptor is being deleted; wait until it is gone, then run 'vagrant provision --provision-with peering' again"
		;;
	*)
		# A token is single use: when establishing fails, the next
		# attempt generates a fresh one. Both steps can fail briefly after
		# an election (no peering address registered yet).
		for attempt in 1 2 3 4 5; do
			if token=$("$BIN" peering generate-token -name "$dialer" -http-addr "$a") &&
				"$BIN" peering establish -name "$acceptor" -peering-token "$token" -http-addr "$d"; then
				break
			fi
			((attempt < 5)) || die "could not establish the peering $dialer -> $acceptor after 5 attempts"
			log "attempt $attempt failed; retrying in 5s"
			sleep 5
		done
		;;
	esac

	local deadline=$((SECONDS + PEER_WAIT))
	until [[ $(peering_state "$d" "$acceptor") == ACTIVE ]]; do
		((SECONDS < deadline)) || die "peering $acceptor on $dialer is $(peering_state "$d" "$acceptor") after ${PEER_WAIT}s, not ACTIVE; check 'journalctl -u switchyard' on both clusters"
		sleep 2
	done
	log "peering is ACTIVE. On $dialer ($d):"
	"$BIN" peering list -http-addr "$d"
	log "on $acceptor ($a):"
	"$BIN" peering list -http-addr "$a"
}

(($# >= 1)) || usage
role=$1
shift
case $role in
server) provision_server "$@" ;;
peer) provision_peering "$@" ;;
*) usage ;;
esac
