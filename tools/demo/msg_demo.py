"""Two processes exchange typed messages through a System V queue via python3-sysv-ipc, unmodified."""
import os
import sys

import sysv_ipc

queue = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX, mode=0o600)
pid = os.fork()
if pid == 0:
    # Answer each request (type 1) with its reversal (type 2), then stop at "quit".
    while True:
        text, _ = queue.receive(type=1)
        if text == b"quit":
            os._exit(0)
        queue.send(text[::-1], type=2)
words = [b"libsysv", b"message", b"queues"]
for word in words:
    queue.send(word, type=1)
answers = [queue.receive(type=2)[0] for _ in words]
queue.send(b"quit", type=1)
_, status = os.waitpid(pid, 0)
ok = answers == [w[::-1] for w in words] and status == 0 and queue.current_messages == 0
print(f"queue {queue.id}: {len(answers)} round trips, answers {[a.decode() for a in answers]}, "
      f"last sender pid {queue.last_send_pid}, child status {status}")
queue.remove()
sys.exit(0 if ok else 1)
