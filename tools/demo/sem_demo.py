"""Two processes take turns through a System V semaphore via python3-sysv-ipc, unmodified."""
import os
import sys

import sysv_ipc

sem = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX, mode=0o600, initial_value=0)
pid = os.fork()
if pid == 0:
    sem.release()          # V: let the parent go on
    sem.acquire(timeout=5)  # P: wait for the parent's turn
    os._exit(0)
sem.acquire(timeout=5)     # waits for the child's release
value_after_child = sem.value
sem.release()              # the child's turn
_, status = os.waitpid(pid, 0)
print(f"semaphore {sem.id}: handed over both ways, value now {sem.value}, child status {status}")
sem.remove()
sys.exit(0 if status == 0 and value_after_child == 0 else 1)
