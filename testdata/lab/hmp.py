"""Sends QEMU human-monitor (HMP) commands over a unix socket, one at a time,
waiting for the (qemu) prompt after each; prints each command's answer.
Usage: hmp.py SOCKET COMMAND..."""
import socket
import sys
import time


def read_prompt(s, deadline):
    buf = b""
    while not buf.endswith(b"(qemu) "):
        if time.time() > deadline:
            raise TimeoutError("no (qemu) prompt; got %r" % buf[-200:])
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError("monitor closed; got %r" % buf[-200:])
        buf += chunk
    return buf[: -len(b"(qemu) ")].decode(errors="replace")


def main():
    path, cmds = sys.argv[1], sys.argv[2:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    for _ in range(100):
        try:
            s.connect(path)
            break
        except OSError:
            time.sleep(0.1)
    read_prompt(s, time.time() + 30)
    for c in cmds:
        s.sendall(c.encode() + b"\n")
        if c == "quit":
            # Wait for QEMU to close the monitor: closing first can lose the
            # command.
            s.settimeout(30)
            try:
                while s.recv(65536):
                    pass
            except OSError:
                pass
            break
        out = read_prompt(s, time.time() + 600)
        # HMP echoes the command line first (with terminal escapes).
        lines = out.replace("\r", "").split("\n")[1:]
        print("(qemu) " + c)
        print("\n".join(l for l in lines if l.strip()))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
