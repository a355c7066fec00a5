"""Two processes share a System V segment through python3-sysv-ipc, unmodified."""
import os
import sys

import sysv_ipc

memory = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=4096, mode=0o600)
pid = os.fork()
if pid == 0:
    segment = sysv_ipc.attach(memory.id)
    segment.write(b"written by the child")
    segment.detach()
    os._exit(0)
os.waitpid(pid, 0)
text = memory.read(20)
print(f"segment {memory.id}: {text.decode()!r}, key {memory.key}, size {memory.size}")
memory.detach()
memory.remove()
sys.exit(0 if text == b"written by the child" else 1)
