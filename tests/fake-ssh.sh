#!/bin/sh
# fake-ssh.sh: stands in for ssh in the farm tests (there is no sshd here). Called as ssh would
# be: [options] HOST COMMAND-LINE. It drops ssh's options and the host, then runs the command
# line through sh -c, as sshd runs it through the user's shell: quoting mistakes show up here.
# Its environment is the master's less the slot's variables, like a fresh remote login's would
# lack them: what the worker gets must come on the command line.
#   A host whose name starts with "unreachable" refuses the connection (ssh exits 255).
#   FAKE_SSH_LOG=FILE        append "HOST COMMAND-LINE" per connection
#   FAKE_SSH_DROP=DIR        the first connection (the one that creates DIR) is lost mid-run:
#   FAKE_SSH_DROP_AFTER=S    after S seconds (default 0.3) the "remote" worker is killed and this
#                            "ssh" exits 255, as ssh does when the connection drops
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
if [ -n "${FAKE_SSH_DROP:-}" ] && mkdir "$FAKE_SSH_DROP" 2>/dev/null; then
    sh -c "exec $*" <&0 &
    sleep "${FAKE_SSH_DROP_AFTER:-0.3}"
    # the remote end goes away with the connection: nothing more comes through the pipes
    kill -9 $! 2>/dev/null
    exit 255
fi
exec sh -c "$*"
