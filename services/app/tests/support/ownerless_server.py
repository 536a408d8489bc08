"""A TCP server whose accepted connection belongs to no process.

It accepts one connection, parks the socket in flight inside a unix socket pair (SCM_RIGHTS,
never received) and closes its own descriptor, so the connection stays established while no
process has it open. To a probe on this machine, that end then looks like a host it cannot see,
which is what a connection to the Internet looks like. Exits when stdin closes.
Usage: ownerless_server.py ADDRESS PORT
"""
import array, socket, sys
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], int(sys.argv[2])))
ls.listen(1)
print("ready", flush=True)
conn, _ = ls.accept()
a, b = socket.socketpair()
a.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [conn.fileno()]))])
conn.close()
sys.stdin.read()
