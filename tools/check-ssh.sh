#!/bin/sh
# check-ssh.sh: `battfarm score --hosts` against a real OpenSSH server on this machine (the tests
# use tests/fake-ssh.sh: CI has no sshd; this is not part of them). It starts a throwaway sshd
# as a plain process on 127.0.0.1 (a free high port, its own host key, an authorized_keys with a
# throwaway key, all in a temp dir: never the system's sshd or its config), then:
#   1. scores the bundled programs (data/programs) on a few bundled tasks locally (-j 2) and
#      through ssh (2 slots on 127.0.0.1), and compares the journals' outcomes (status, match,
#      shape, cells, output hash, message; not times, slots, hosts) and the scores (not ranks
#      or cpu time, whose ties times break);
#   2. scores with a worker that hangs with SIGALRM blocked (battfarm-worker-faulty,
#      BF_FAULT=hang-alarm-blocked:@rot270) locally and through ssh (the fault set by a
#      --remote-worker wrapper: ssh passes no environment): the same outcomes, `timeout` for the
#      hanging candidate as on a local slot, watchdog kills in the remote workers' stderr (kept in
#      a file: through ssh it would be lost with the connection), and no remote worker running
#      after its own deadline (soft limit + 2 x grace) plus a second; then, as a control, the
#      same through a wrapper that drops --watchdog: some remote workers must be left hanging
#      (killed by this script);
#   3. checks that no remote worker or watchdog of any run is left (they carry a mark in their
#      environment).
# Everything is torn down on exit (trap). If run as root and /run/sshd (sshd's privilege
# separation directory) is missing, it is created and removed again.
#   tools/check-ssh.sh [BUILD_DIR]     default build/, configured and built if missing
# Exit status: 0 everything matched; 1 a mismatch or a failure; 77 sshd not installed (skipped).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac

sshd=$(command -v sshd || true)
[ -z "$sshd" ] && [ -x /usr/sbin/sshd ] && sshd=/usr/sbin/sshd
if [ -z "$sshd" ] || ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null; then
    echo "check-ssh: SKIP: OpenSSH server or client not installed (apt-get install openssh-server openssh-client)" >&2
    exit 77
fi

if [ ! -x "$build/master/battfarm" ] || [ ! -x "$build/worker/battfarm-worker-faulty" ]; then
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$build" -j 2 >/dev/null
fi
master="$build/master/battfarm"
worker="$build/worker/battfarm-worker"
faulty="$build/worker/battfarm-worker-faulty"

d=$(mktemp -d /tmp/bf-check-ssh-XXXXXX)
sshd_pid=
made_privsep=
cleanup() {
    for pid in $(marked 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null
    [ -n "$made_privsep" ] && rmdir /run/sshd 2>/dev/null
    rm -rf "$d"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
    echo "check-ssh: FAIL: $*" >&2
    exit 1
}

# ---------------------------------------------------------------- the throwaway sshd
if [ "$(id -u)" = 0 ] && [ ! -d /run/sshd ]; then
    mkdir -m 0755 /run/sshd
    made_privsep=1
fi
ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$d/user_key"
cp "$d/user_key.pub" "$d/authorized_keys"
start_sshd() {
    cat > "$d/sshd_config" <<EOF
Port $1
ListenAddress 127.0.0.1
HostKey $d/host_key
AuthorizedKeysFile $d/authorized_keys
PidFile $d/sshd.pid
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
X11Forwarding no
AllowTcpForwarding no
MaxStartups 64
MaxSessions 64
EOF
    "$sshd" -D -e -f "$d/sshd_config" 2>>"$d/sshd.log" &
    sshd_pid=$!
}
ssh_cmd() {
    echo "ssh -p $port -i $d/user_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
}
ready=
for try in 1 2 3 4 5; do
    port=$(( 20000 + ($$ * 7 + try * 7919) % 40000 ))
    start_sshd "$port"
    for i in $(seq 50); do
        if $(ssh_cmd) -o BatchMode=yes -o ConnectTimeout=2 127.0.0.1 true 2>/dev/null; then
            ready=1
            break
        fi
        kill -0 "$sshd_pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$ready" ] && break
    kill "$sshd_pid" 2>/dev/null || true
    wait "$sshd_pid" 2>/dev/null || true
    sshd_pid=
done
[ -n "$ready" ] || { cat "$d/sshd.log" >&2; fail "sshd did not come up (log above)"; }
echo "check-ssh: sshd $("$sshd" -V 2>&1 | head -1 || true) pid $sshd_pid on 127.0.0.1:$port"

# ---------------------------------------------------------------- the runs
tasks=""
for t in 007bbfb7 00d62c1b 017c7c7b 025d127b 045e512c 0520fde7 05f2a901 06df4c85; do
    tasks="$tasks data/arc-agi-1/training/$t.json"
done
hang_tasks="data/arc-agi-1/training/007bbfb7.json data/arc-agi-1/training/00d62c1b.json"
hang_prim=rot270 # the root of one bundled program (ed36ccf7)
printf '2/127.0.0.1\n' > "$d/hosts"

# A remote worker through a wrapper that records its pid (exec keeps it) and what its stdin and
# stdout are, sends its stderr to $d/remote.log (through ssh, a watchdog's last words would be
# lost with the connection they report gone), and sets what ssh would not carry.
# $1: the wrapper, $2: the worker, $3: its pid file, $4...: NAME=value for it. With $blind set,
# it drops --watchdog MS from the worker's arguments.
blind=
make_wrapper() {
    w=$1
    bin=$2
    pids=$3
    shift 3
    {
        echo '#!/bin/sh'
        echo "echo \$\$ >> $pids"
        echo "echo \"\$(readlink /proc/\$\$/fd/0) \$(readlink /proc/\$\$/fd/1)\" >> $d/remote-fds"
        [ -n "$blind" ] && echo '[ "$2" = --watchdog ] && set -- "$1"'
        echo "exec env BF_CHECK_SSH=$d $* $bin \"\$@\" 2>> $d/remote.log"
    } > "$w"
    chmod +x "$w"
}

# The outcomes of a journal, one sorted line per record, without times, slot, host, attempt.
outcomes() {
    sed -e 's/,"cpu_us":[0-9]*//' -e 's/,"wall_us":[0-9]*//' -e 's/,"slot":-\{0,1\}[0-9]*//' \
        -e 's/,"attempt":[0-9]*//' -e 's/,"host":"[^"]*"//' "$1" | sort
}
# The scores without rank and cpu time.
scores() {
    sed -e 's/"rank":[0-9]*,//' -e 's/,"cpu_us":[0-9]*//' "$1" | sort
}

# $1: out dir; the rest: options. $tasks: the tasks; $fault: NAME=value for the master (and so
# for its local workers), or nothing.
score() {
    out=$1
    shift
    start=$(date +%s%N)
    env $fault "$master" score data/programs --quiet --out "$out" "$@" --tasks $tasks > "$out.summary" 2> "$out.log" ||
        { tail -20 "$out.log" >&2; fail "battfarm score $* exited with status $?"; }
    echo "check-ssh: $(basename "$out"): $(wc -l < "$out/results.jsonl") results in" \
        "$(( ($(date +%s%N) - start) / 1000000 )) ms"
}

# 0: process $1 runs (a zombie waiting to be reaped does not)
alive() {
    state=$(sed -n 's/^[0-9]* (.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true)
    case "$state" in ''|Z|X) return 1 ;; esac
    return 0
}

# The live processes whose environment has the wrappers' mark.
marked() {
    for env in $(grep -l -s "BF_CHECK_SSH=$d" /proc/[0-9]*/environ); do
        pid=${env#/proc/}
        pid=${pid%/environ}
        alive "$pid" && echo "$pid"
    done
    true
}

# 0: every remote worker started so far is gone.
remote_gone() {
    for pid in $(cat "$d/remote-pids" 2>/dev/null); do
        alive "$pid" && return 1
    done
    return 0
}

# $1, $2: runs whose journals and scores must agree
same_outcomes() {
    outcomes "$d/$1/results.jsonl" > "$d/$1.outcomes"
    outcomes "$d/$2/results.jsonl" > "$d/$2.outcomes"
    cmp -s "$d/$1.outcomes" "$d/$2.outcomes" ||
        { diff "$d/$1.outcomes" "$d/$2.outcomes" | head -10 >&2; fail "journal outcomes differ ($1, $2)"; }
    scores "$d/$1/scores.jsonl" > "$d/$1.scores"
    scores "$d/$2/scores.jsonl" > "$d/$2.scores"
    cmp -s "$d/$1.scores" "$d/$2.scores" || { diff "$d/$1.scores" "$d/$2.scores" | head -10 >&2; fail "scores differ ($1, $2)"; }
    grep -q '"host":"127.0.0.1"' "$d/$2/results.jsonl" || fail "no record of $2 says host 127.0.0.1"
    ! grep -v '"status":"invalid"' "$d/$2/results.jsonl" | grep -q '"host":"local"' || fail "records of $2 ran locally"
}

# 1. the same outcomes through ssh as locally
fault=
score "$d/local" -j 2
make_wrapper "$d/remote-worker" "$worker" "$d/remote-pids"
score "$d/ssh" --hosts "$d/hosts" --ssh "$(ssh_cmd)" --remote-worker "$d/remote-worker"
same_outcomes local ssh
grep -q '"attempt":2' "$d/ssh/results.jsonl" && fail "a candidate was retried in the ssh run"
echo "check-ssh: ssh run: its $(wc -l < "$d/ssh.outcomes") outcomes and $(wc -l < "$d/ssh.scores") scores equal" \
    "the local run's; a remote worker's stdin and stdout are: $(sed 's/:\[[0-9]*\]//g' "$d/remote-fds" | sort -u | tr '\n' ' ')"

# 2. a worker hanging with SIGALRM blocked, locally (the master kills it) and through ssh (its
# watchdog must): the same outcomes, `timeout` for the hanging candidate
timeout_ms=200
grace_ms=300
tasks=$hang_tasks
fault=BF_FAULT=hang-alarm-blocked:@$hang_prim
score "$d/local-hang" -j 2 --worker "$faulty" --timeout $timeout_ms --grace $grace_ms
fault=
make_wrapper "$d/hang-worker" "$faulty" "$d/remote-pids" BF_FAULT=hang-alarm-blocked:@$hang_prim
score "$d/ssh-hang" --hosts "$d/hosts" --ssh "$(ssh_cmd)" --remote-worker "$d/hang-worker" \
    --timeout $timeout_ms --grace $grace_ms
hang_end=$(date +%s%N)
until remote_gone; do
    [ $(( ($(date +%s%N) - hang_end) / 1000000 )) -gt $(( timeout_ms + 2 * grace_ms + 1000 )) ] &&
        fail "a remote worker still runs more than its deadline + 1 s after the run"
    sleep 0.01
done
gone_ms=$(( ($(date +%s%N) - hang_end) / 1000000 ))
same_outcomes local-hang ssh-hang
hangs=$(grep -c '"status":"timeout"' "$d/ssh-hang/results.jsonl" || true)
[ "$hangs" -gt 0 ] || fail "no timeout record in the hanging run"
[ "$(grep -c '"msg":"hard deadline' "$d/ssh-hang/results.jsonl")" = "$hangs" ] || fail "a timeout not from the hard deadline"
grep -q '"status":"crash"' "$d/ssh-hang/results.jsonl" && fail "crash records in the hanging run"
kills=$(grep -c 'watchdog: ' "$d/remote.log" || true)
[ "$kills" -gt 0 ] || fail "no remote worker was killed by its watchdog"
echo "check-ssh: hanging remote worker: $hangs timeouts, as on a local slot, and the other outcomes equal;" \
    "$kills watchdog kills; every remote worker gone ${gone_ms} ms after the run; the watchdogs said:"
grep 'watchdog: ' "$d/remote.log" | sed -e 's/^ *[0-9.]* W[0-9]*\[[0-9]*\] //' -e 's/pid [0-9]*/pid N/' -e 's/is [0-9]* ms/is N ms/' |
    sort | uniq -c | sort -rn

# 2b. the control: the same remote worker without its watchdog (the wrapper drops --watchdog)
# must still hang after the run, out of the master's reach; those are killed here
blind=1
make_wrapper "$d/blind-worker" "$faulty" "$d/blind-pids" BF_FAULT=hang-alarm-blocked:@$hang_prim
blind=
tasks=$(echo $hang_tasks | cut -d' ' -f1)
score "$d/ssh-blind" --hosts "$d/hosts" --ssh "$(ssh_cmd)" --remote-worker "$d/blind-worker" \
    --timeout $timeout_ms --grace $grace_ms
sleep $(( (timeout_ms + 2 * grace_ms) / 1000 + 1 ))
hung=0
for pid in $(cat "$d/blind-pids"); do
    alive "$pid" && hung=$((hung + 1)) && kill -9 "$pid"
done
[ "$hung" -gt 0 ] || fail "without a watchdog, no remote worker was left hanging: the control proves nothing"
echo "check-ssh: control, the same without --watchdog: $hung remote workers still hung" \
    "$(( (timeout_ms + 2 * grace_ms) / 1000 + 1 )) s after the run (killed now)"

# 3. nothing left behind, anywhere: no remote worker, and no process (a watchdog) that carries
# the mark the wrappers gave them
remote_gone || fail "remote workers left: $(cat "$d/remote-pids")"
sleep 0.2
left=$(marked)
[ -z "$left" ] || fail "processes left behind: $left"
echo "check-ssh: OK ($(wc -l < "$d/remote-pids") remote workers started, none left)"
