#!/bin/sh
# fake-ssh.sh: stands in for ssh in the farm tests (CI has no sshd; tools/check-ssh.sh runs the
# real one). Called as ssh would be: [options] HOST COMMAND-LINE. It drops ssh's options and the
# host, then runs the command line through sh -c, as sshd runs it through the user's shell:
# quoting mistakes show up here. Its environment is the master's less the slot's variables, like
# a fresh remote login's would lack them: what the worker gets must come on the command line.
# Like the real thing, the "remote" command runs in a session of its own, not as this process:
# killing this "ssh" (as the master does at a hard deadline) leaves it running, and closes only
# this end of the connection.
#   A host whose name starts with "unreachable" refuses the connection (ssh exits 255).
#   FAKE_SSH_LOG=FILE        append "HOST COMMAND-LINE" per connection
#   FAKE_SSH_PIDS=FILE       append the pid of each "remote" command (the worker)
#   FAKE_SSH_DROP=DIR        the first connection (the one that creates DIR) is lost mid-run:
#   FAKE_SSH_DROP_AFTER=S    after S seconds (default 0.3) the "remote" worker is killed and this
#                            "ssh" exits 255, as ssh does when the connection drops
#   FAKE_SSH_STALL=S         a connection that stalls instead of closing when this "ssh" is
#                            killed (a peer gone without FIN or RST): the "sshd" side keeps the
#                            remote command's stdin and stdout open S more seconds. Between this
#                            process and the command are FIFOs in a directory under $TMPDIR.
while [ $# -gt 0 ]; do
    case "$1" in
        -[bcDEeFIiJLlmOopQRSWw]) shift 2 ;;   # ssh's options that take an argument
        -*) shift ;;
        *) break ;;
    esac
done
host=$1
shift
[ -n "${FAKE_SSH_LOG:-}" ] && printf '%s %s\n' "$host" "$*" >> "$FAKE_SSH_LOG"
unset BF_SLOT BF_MEM_CAP_MB CUDA_VISIBLE_DEVICES
case "$host" in
    unreachable*) echo "ssh: connect to host $host port 22: Connection refused" >&2; exit 255 ;;
esac
remote="exec $*"
# sh gives a background command /dev/null for stdin before any redirection of its own: our
# stdin reaches one only as another fd
exec 3<&0
[ -n "${FAKE_SSH_PIDS:-}" ] && remote="echo \$\$ >> \"\$FAKE_SSH_PIDS\"; $remote"
if [ -n "${FAKE_SSH_DROP:-}" ] && mkdir "$FAKE_SSH_DROP" 2>/dev/null; then
    sh -c "$remote" <&3 3<&- &
    sleep "${FAKE_SSH_DROP_AFTER:-0.3}"
    # the remote end goes away with the connection: nothing more comes through the pipes
    kill -9 $! 2>/dev/null
    exit 255
fi
if [ -z "${FAKE_SSH_STALL:-}" ]; then
    setsid sh -c "$remote" <&3 3<&- &
    wait $!
    exit $?
fi
# FAKE_SSH_STALL: the "sshd" is the holder (a session of its own: killing us spares it), which
# keeps both FIFOs open; this process relays stdin and stdout through them. After a clean EOF on
# stdin the holder is let go, so that the command sees the EOF; if we are killed, it is not.
d=$(mktemp -d)
mkfifo "$d/in" "$d/out"
setsid sh -c "$remote" <"$d/in" >"$d/out" 3<&- &
worker=$!
setsid env -u BF_TEST_MARK sleep "$FAKE_SSH_STALL" >"$d/in" <"$d/out" 3<&- &
holder=$!
{ cat >"$d/in"; kill "$holder" 2>/dev/null; } <&3 3<&- &
cat <"$d/out" 3<&-
wait "$worker"
status=$?
kill "$holder" 2>/dev/null
rm -rf "$d"
exit $status
