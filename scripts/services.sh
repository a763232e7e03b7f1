#!/usr/bin/env bash
# Start, stop or describe the services hubguard's tests run against: a private Docker engine
# and a plain local registry, both under one directory so they never touch another daemon.
#
#   scripts/services.sh start   install what is missing, start both (idempotent), write $DIR/env
#   scripts/services.sh env     print the env file (source it: DOCKER_HOST, HUBGUARD_TEST_REGISTRY)
#   scripts/services.sh stop    stop both, wait for them to exit, leave no mounts behind
#
# DIR is $HUBGUARD_SERVICES_DIR (default /tmp/hubguard-services); keep it short, because
# dockerd and containerd put unix sockets under it and socket paths are limited to 108 bytes.
# Images and registry blobs stay in DIR between runs, so the busybox test base is built once.
set -euo pipefail

DIR=$(realpath -m -- "${HUBGUARD_SERVICES_DIR:-/tmp/hubguard-services}")
DOCKER_SOCK="$DIR/docker.sock"
DOCKERD_PID="$DIR/dockerd.pid"
DOCKERD_LOG="$DIR/dockerd.log"
REGISTRY_PID="$DIR/registry.pid"
REGISTRY_LOG="$DIR/registry.log"
REGISTRY_CONFIG="$DIR/registry.yml"
ENV_FILE="$DIR/env"
DOCKERD_START_SECONDS=90
REGISTRY_START_SECONDS=30
STOP_SECONDS=45
# Pid of a dockerd this invocation launched; dockerd writes its pid file only once it has parsed
# its flags, so this is what tells an early exit from a slow start.
launched_dockerd=""

die() {
    echo "services.sh: $*" >&2
    exit 1
}

# True for a running process; a zombie (exited, not yet reaped) counts as gone.
process_alive() {
    local state
    state=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
    [[ -n $state && $state != Z ]]
}

# Prints the pid in a pid file if that process is alive (not a zombie) and runs the named
# program; guards against stale pid files whose number the kernel has since reused.
live_pid() {
    local pid_file=$1 program=$2 pid
    [[ -s $pid_file ]] || return 1
    pid=$(<"$pid_file")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm ]] || return 1
    [[ $(<"/proc/$pid/comm") == "$program"* ]] || return 1
    process_alive "$pid" || return 1
    echo "$pid"
}

install_missing_tools() {
    local tool missing=()
    for tool in dockerd docker docker-registry git debootstrap openssl; do
        command -v "$tool" >/dev/null || missing+=("$tool")
    done
    [[ -x /usr/bin/busybox ]] || missing+=(busybox)
    ((${#missing[@]} == 0)) && return 0
    echo "services.sh: installing Debian packages (missing: ${missing[*]})" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        docker.io docker-registry busybox-static git debootstrap openssl >/dev/null
}

docker_answers() {
    docker --host "unix://$DOCKER_SOCK" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# GET /v2/ over bash's /dev/tcp, so the check needs no curl on a bare machine. The subshell
# keeps a refused connection from affecting the caller's file descriptors.
registry_answers() (
    local port=$1 status_line=""
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf 'GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    IFS= read -r -t 5 status_line <&3 || true
    [[ $status_line == "HTTP/1."?" 200"* ]]
)

# The registry listens on port 0 and logs the port the kernel gave it: no race for a free port.
registry_port() {
    sed -n 's/.*msg="listening on 127\.0\.0\.1:\([0-9][0-9]*\)".*/\1/p' "$REGISTRY_LOG" | tail -n 1
}

fail_start() {
    local what=$1 log=$2
    {
        echo "services.sh: $what did not come up; last lines of $log:"
        tail -n 20 "$log" 2>/dev/null | sed 's/^/    /'
    } >&2
    stop_services
    exit 1
}

start_dockerd() {
    live_pid "$DOCKERD_PID" dockerd >/dev/null && return 0
    # An empty config file keeps a host /etc/docker/daemon.json from clashing with these flags;
    # separate containerd namespaces matter only if dockerd picks up a shared system containerd.
    echo '{}' >"$DIR/daemon.json"
    : >"$DOCKERD_LOG"
    nohup dockerd \
        --config-file "$DIR/daemon.json" \
        --storage-driver vfs --iptables=false --bridge=none \
        --data-root "$DIR/data" --exec-root "$DIR/exec" \
        --pidfile "$DOCKERD_PID" --host "unix://$DOCKER_SOCK" \
        --containerd-namespace hubguard-test --containerd-plugins-namespace hubguard-test-plugins \
        </dev/null >>"$DOCKERD_LOG" 2>&1 &
    launched_dockerd=$!
}

start_registry() {
    live_pid "$REGISTRY_PID" docker-registry >/dev/null && return 0
    mkdir -p "$DIR/registry"
    cat >"$REGISTRY_CONFIG" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $DIR/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:0
EOF
    : >"$REGISTRY_LOG"
    nohup docker-registry serve "$REGISTRY_CONFIG" </dev/null >>"$REGISTRY_LOG" 2>&1 &
    echo $! >"$REGISTRY_PID"
}

wait_for_dockerd() {
    local deadline=$((SECONDS + DOCKERD_START_SECONDS))
    until docker_answers; do
        ((SECONDS < deadline)) || fail_start "dockerd (unix://$DOCKER_SOCK)" "$DOCKERD_LOG"
        if [[ -n $launched_dockerd ]] && ! process_alive "$launched_dockerd"; then
            fail_start "dockerd (exited)" "$DOCKERD_LOG"
        fi
        sleep 0.5
    done
}

# Prints the registry's port once GET /v2/ answers 200.
wait_for_registry() {
    local deadline=$((SECONDS + REGISTRY_START_SECONDS)) port
    while true; do
        live_pid "$REGISTRY_PID" docker-registry >/dev/null \
            || fail_start "docker-registry (exited)" "$REGISTRY_LOG"
        port=$(registry_port)
        if [[ -n $port ]] && registry_answers "$port" 2>/dev/null; then
            echo "$port"
            return 0
        fi
        ((SECONDS < deadline)) || fail_start "docker-registry" "$REGISTRY_LOG"
        sleep 0.2
    done
}

start_services() {
    install_missing_tools
    mkdir -p "$DIR"
    start_dockerd
    start_registry
    wait_for_dockerd
    local port
    port=$(wait_for_registry)
    {
        echo "export DOCKER_HOST=unix://$DOCKER_SOCK"
        echo "export HUBGUARD_TEST_REGISTRY=127.0.0.1:$port"
    } >"$ENV_FILE"
    echo "services.sh: dockerd and registry up; source $ENV_FILE" >&2
}

# Sends TERM, waits up to STOP_SECONDS for the process to go, then KILLs it.
terminate() {
    local pid=$1 waited=0
    kill -TERM "$pid" 2>/dev/null || return 0
    while process_alive "$pid"; do
        if ((waited >= STOP_SECONDS * 5)); then
            echo "services.sh: pid $pid ignored TERM for ${STOP_SECONDS}s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
            return 0
        fi
        sleep 0.2
        waited=$((waited + 1))
    done
}

# After an unclean dockerd exit its containerd and shims may linger; they are recognisable
# because their command lines name this DIR's exec root, which nothing else uses.
terminate_leftovers() {
    local cmdline_file pid
    for cmdline_file in /proc/[0-9]*/cmdline; do
        pid=${cmdline_file#/proc/}
        pid=${pid%/cmdline}
        [[ $pid == "$$" ]] && continue
        # A process may exit between the glob and the read; its vanished file just doesn't match.
        if { tr '\0' ' ' <"$cmdline_file"; } 2>/dev/null | grep -qF -- "$DIR/exec/"; then
            terminate "$pid"
        fi
    done
}

unmount_leftovers() {
    local mount_point
    awk -v dir="$DIR" '$5 == dir || index($5, dir "/") == 1 {print $5}' /proc/self/mountinfo \
        | sort -r | while IFS= read -r mount_point; do
            umount "$mount_point" 2>/dev/null || umount -l "$mount_point"
        done
}

stop_services() {
    local pid
    if pid=$(live_pid "$REGISTRY_PID" docker-registry); then
        terminate "$pid"
    fi
    if pid=$(live_pid "$DOCKERD_PID" dockerd); then
        terminate "$pid"
    fi
    # A dockerd that hung before writing its pid file is known only by the pid we launched.
    if [[ -n $launched_dockerd ]] && process_alive "$launched_dockerd"; then
        terminate "$launched_dockerd"
    fi
    terminate_leftovers
    unmount_leftovers
    rm -f "$REGISTRY_PID" "$DOCKERD_PID" "$ENV_FILE"
}

case ${1:-} in
    start) start_services ;;
    stop) stop_services ;;
    env)
        [[ -f $ENV_FILE ]] || die "no $ENV_FILE: run '$0 start' first"
        cat "$ENV_FILE"
        ;;
    *) die "usage: $0 start|stop|env" ;;
esac
