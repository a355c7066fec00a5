#!/usr/bin/env python3
"""Writes the seed corpus of handler_fuzzer.cc (records: control, length,
message). Run from this directory: python3 make_handler_corpus.py"""
import os
import struct

MAGIC, VERSION = 0x56535953, 1
REGISTER, SHMGET, SHMATTACH, SHMCTL, SEMGET, SEMCTL, SHMSWEEP, SEMOPEN = 1, 2, 3, 4, 5, 6, 9, 10
MSGGET, MSGCTL, MSGOPEN, SEMWAITZERO, SEMWAITZEROEND = 7, 8, 11, 16, 17
IPC_CREAT, IPC_EXCL, IPC_NOWAIT, IPC_PRIVATE = 0o1000, 0o2000, 0o4000, 0
IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO = 0, 1, 2, 3
SHM_RDONLY, SHM_EXEC, SHM_LOCK, SHM_UNLOCK, SHM_STAT, SHM_INFO = 0o10000, 0o100000, 11, 12, 13, 14
GETPID, GETVAL, GETALL, GETNCNT, GETZCNT, SETVAL, SEM_STAT, SEM_INFO = 11, 12, 13, 14, 15, 16, 18, 19
MSG_STAT, MSG_INFO, MSG_STAT_ANY = 11, 12, 13
EINTR, EAGAIN = 4, 11
ROOT, CREATOR, GROUPED, OTHER = 0, 1, 2, 3
FRESH, UNREGISTERED, FIX, BY_INDEX, PAD, USE = 0x04, 0x08, 0x10, 0x20, 0x40, 0x80
RAW = 0x100  # not a control bit: this generator's "send as written"

def message(op, body, request_id=1, version=VERSION, magic=MAGIC, length=None):
    size = 16 + len(body)
    return struct.pack('<IHHII', magic, version, op, size if length is None else length, request_id) + body

def record(control, msg):
    """A record; unless it is one of the deliberately broken messages
    (control & RAW), its header is repaired by the harness (FIX), so the
    seeds stay valid when the protocol version changes."""
    if control & RAW:
        control &= ~RAW
    else:
        control |= FIX
    return bytes([control, len(msg)]) + msg

def shmget(key, flags, size): return message(SHMGET, struct.pack('<iiQ', key, flags, size))
def shmattach(index, flags): return message(SHMATTACH, struct.pack('<ii', index, flags))
def shmctl(index, cmd, uid=0, gid=0, mode=0, memlock=0):
    return message(SHMCTL, struct.pack('<iiIIIIQ', index, cmd, uid, gid, mode, 0, memlock))
def shmsweep(index): return message(SHMSWEEP, struct.pack('<iI', index, 0))
def semget(key, nsems, flags): return message(SEMGET, struct.pack('<iiiI', key, nsems, flags, 0))
def semopen(index): return message(SEMOPEN, struct.pack('<iI', index, 0))
def semctl(index, cmd, uid=0, gid=0, mode=0, semnum=0):
    return message(SEMCTL, struct.pack('<iiIIIi', index, cmd, uid, gid, mode, semnum))
def semwaitzero(index, sops, nsops=None):
    """Only the sops given are written: send it with PAD, which fills the
    rest of the 80 with zeros (a record holds at most 255 bytes)."""
    body = struct.pack('<iIi', index, len(sops) if nsops is None else nsops, 0)  # tid: FIX fills it in
    return message(SEMWAITZERO, body + b''.join(struct.pack('<Hhh', *sop) for sop in sops))
def semwaitzeroend(index, record_index, reason):
    return message(SEMWAITZEROEND, struct.pack('<iIiI', index, record_index, reason, 0))
def msgget(key, flags): return message(MSGGET, struct.pack('<ii', key, flags))
def msgopen(index): return message(MSGOPEN, struct.pack('<iI', index, 0))
def msgctl(index, cmd, uid=0, gid=0, mode=0, qbytes=0):
    return message(MSGCTL, struct.pack('<iiIIIIQ', index, cmd, uid, gid, mode, 0, qbytes))

seeds = {
    'shm_permissions': [
        record(ROOT, shmget(0x1234, IPC_CREAT | 0o640, 4096)),
        record(ROOT | BY_INDEX, shmctl(0, IPC_SET, uid=2001, gid=3001, mode=0o640)),
        record(CREATOR | BY_INDEX, shmattach(0, 0)),
        record(GROUPED | BY_INDEX, shmattach(0, SHM_RDONLY)),
        record(GROUPED | BY_INDEX, shmattach(0, 0)),
        record(OTHER | BY_INDEX, shmattach(0, SHM_RDONLY)),
        record(OTHER | BY_INDEX, shmctl(0, IPC_RMID)),
        record(GROUPED | BY_INDEX, shmctl(0, IPC_STAT)),
        record(CREATOR | BY_INDEX, shmctl(0, SHM_LOCK, memlock=1 << 20)),
        record(CREATOR | BY_INDEX, shmctl(0, SHM_UNLOCK)),
        record(CREATOR | BY_INDEX, shmattach(0, SHM_EXEC)),
        record(CREATOR | BY_INDEX, shmctl(0, IPC_RMID)),
        record(CREATOR | BY_INDEX, shmsweep(0)),
    ],
    'shm_limits': [
        record(ROOT, shmget(0, IPC_CREAT | 0o600, 65536)),
        record(ROOT, shmget(0, IPC_CREAT | 0o600, 65537)),
        record(ROOT, shmget(0, IPC_CREAT | 0o600, 1)),
        record(OTHER, shmget(0x55, IPC_CREAT | 0o600, 8192)),
        record(OTHER, shmget(0x55, 0o400, 8192)),
        record(ROOT, shmctl(0, IPC_INFO)),
        record(ROOT, shmctl(0, SHM_INFO)),
        record(OTHER, shmctl(1, SHM_STAT)),
    ],
    'sem_permissions': [
        record(ROOT, semget(0x77, 3, IPC_CREAT | 0o660)),
        record(ROOT | BY_INDEX, semctl(0, IPC_SET, uid=2001, gid=3001, mode=0o640)),
        record(GROUPED | BY_INDEX, semopen(0)),
        record(CREATOR | BY_INDEX, semopen(0)),
        record(OTHER | BY_INDEX, semopen(0)),
        record(OTHER | BY_INDEX, semctl(0, IPC_STAT)),
        record(GROUPED | BY_INDEX, semctl(0, SEM_STAT)),
        record(ROOT, semctl(0, SEM_INFO)),
        record(CREATOR | BY_INDEX, semctl(0, IPC_RMID)),
        record(CREATOR | BY_INDEX, semopen(0)),
    ],
    # Sets 1 when opened with USE, so that a wait-for-zero sleeps; the
    # read-only callers' requests the daemon runs (issue #3).
    'sem_wait_zero': [
        record(ROOT, semget(0x78, 3, IPC_CREAT | 0o660)),
        record(ROOT | BY_INDEX, semctl(0, IPC_SET, uid=2001, gid=3001, mode=0o640)),
        record(CREATOR | BY_INDEX | USE, semopen(0)),
        record(GROUPED | BY_INDEX | PAD, semwaitzero(0, [(0, 0, IPC_NOWAIT)])),
        record(GROUPED | BY_INDEX | PAD, semwaitzero(0, [(0, 0, 0), (2, 0, 0)])),
        record(GROUPED | BY_INDEX, semctl(0, GETZCNT, semnum=0)),
        record(GROUPED | BY_INDEX, semctl(0, GETVAL, semnum=2)),
        record(GROUPED | BY_INDEX, semctl(0, GETALL)),
        record(GROUPED | BY_INDEX, semctl(0, GETPID, semnum=3)),
        record(GROUPED | BY_INDEX, semwaitzeroend(0, 0, EINTR)),
        record(GROUPED | BY_INDEX, semwaitzeroend(0, 0, 0)),
        record(GROUPED | BY_INDEX | PAD, semwaitzero(0, [(1, 0, 0)])),
        record(GROUPED | BY_INDEX, semwaitzeroend(0, 1, EAGAIN)),
        record(GROUPED | BY_INDEX | PAD, semwaitzero(0, [(0, -1, 0)])),
        record(GROUPED | BY_INDEX | PAD, semwaitzero(0, [(7, 0, 0)])),
        record(GROUPED | BY_INDEX | PAD, semwaitzero(0, [], nsops=0)),
        record(GROUPED | BY_INDEX | PAD, semwaitzero(0, [(0, 0, 0)], nsops=81)),
        record(GROUPED | BY_INDEX | PAD, semwaitzero(0, [(0, 0, 0)], nsops=9)),
        record(OTHER | BY_INDEX | PAD, semwaitzero(0, [(0, 0, 0)])),
        record(GROUPED | BY_INDEX | PAD, semwaitzero(0, [(2, 0, 0)])),
        record(CREATOR | BY_INDEX, semctl(0, IPC_RMID)),
        record(GROUPED | BY_INDEX, semwaitzeroend(0, 0, 0)),
        record(GROUPED | PAD, semwaitzero(0x7fff, [(0, 0, 0)])),
    ],
    'msg_permissions': [
        record(ROOT, msgget(0x42, IPC_CREAT | 0o660)),
        record(ROOT | BY_INDEX, msgctl(0, IPC_SET, uid=2001, gid=3001, mode=0o640, qbytes=512)),
        record(CREATOR | BY_INDEX | USE, msgopen(0)),
        record(CREATOR | BY_INDEX | USE, msgopen(0)),
        record(GROUPED | BY_INDEX, msgopen(0)),
        record(OTHER | BY_INDEX, msgopen(0)),
        record(OTHER, msgget(0x42, 0o400)),
        record(GROUPED, msgget(0x42, 0o440)),
        record(GROUPED | BY_INDEX, msgctl(0, IPC_STAT)),
        record(OTHER | BY_INDEX, msgctl(0, IPC_STAT)),
        record(OTHER, msgctl(0, MSG_STAT)),
        record(OTHER, msgctl(0, MSG_STAT_ANY)),
        record(GROUPED | BY_INDEX, msgctl(0, IPC_SET, mode=0o666, qbytes=512)),
        record(CREATOR | BY_INDEX, msgctl(0, IPC_SET, uid=2001, gid=3001, mode=0o600, qbytes=4096)),
        record(CREATOR | BY_INDEX, msgctl(0, IPC_SET, uid=2006, gid=3011, mode=0o660, qbytes=8)),
        record(OTHER | BY_INDEX, msgctl(0, IPC_STAT)),
        record(OTHER | BY_INDEX, msgctl(0, IPC_RMID)),
        record(CREATOR | BY_INDEX, msgctl(0, IPC_RMID)),
        record(CREATOR | BY_INDEX, msgopen(0)),
    ],
    'msg_limits': [
        record(ROOT, msgget(IPC_PRIVATE, 0o600)),
        record(ROOT, msgget(0x43, IPC_CREAT | IPC_EXCL | 0o600)),
        record(ROOT, msgget(0x43, IPC_CREAT | IPC_EXCL | 0o600)),
        record(OTHER, msgget(0x44, 0o600)),
    ] + [record(OTHER, msgget(IPC_PRIVATE, 0o600)) for _ in range(8)] + [
        record(ROOT, msgctl(0, IPC_INFO)),
        record(ROOT, msgctl(0, MSG_INFO)),
        record(ROOT, msgctl(7, MSG_STAT_ANY)),
        record(ROOT | BY_INDEX | USE, msgopen(0)),
        record(ROOT | BY_INDEX, msgctl(0, IPC_SET, mode=0o600, qbytes=1 << 40)),
        record(ROOT | BY_INDEX, msgctl(0, IPC_SET, mode=0o600, qbytes=0)),
        record(ROOT | BY_INDEX, msgctl(0, 77)),
        record(ROOT, msgctl(-1, IPC_STAT)),
        record(ROOT, message(MSGCTL, b'\0' * 31)),
    ],
    # The harness's per-user quotas: user_objects=12, user_bytes=131072.
    'user_quota': [
        record(OTHER, shmget(IPC_PRIVATE, 0o600, 65536)),
        record(OTHER, shmget(IPC_PRIVATE, 0o600, 65536)),
        record(OTHER, shmget(IPC_PRIVATE, 0o600, 1)),
        record(OTHER, msgget(IPC_PRIVATE, 0o600)),
    ] + [record(OTHER, semget(IPC_PRIVATE, 1, 0o600)) for _ in range(8)] + [
        record(OTHER, msgget(0x45, IPC_CREAT | 0o600)),
        record(CREATOR, msgget(0x46, IPC_CREAT | 0o600)),
        record(CREATOR | BY_INDEX, msgctl(0, IPC_RMID)),
        record(OTHER | BY_INDEX, shmctl(0, IPC_RMID)),
        record(OTHER, msgget(0x45, IPC_CREAT | 0o600)),
        record(OTHER, semget(0x47, 1, IPC_CREAT | 0o600)),
        record(CREATOR, msgget(0x48, IPC_CREAT | 0o666)),
        record(CREATOR | BY_INDEX, msgctl(0, IPC_SET, uid=2006, gid=3011, mode=0o600, qbytes=1024)),
        record(OTHER | BY_INDEX, msgctl(0, IPC_SET, uid=2006, gid=3011, mode=0o600, qbytes=512)),
        record(OTHER | BY_INDEX, msgctl(0, IPC_RMID)),
    ],
    'protocol_errors': [
        record(ROOT | UNREGISTERED | FRESH, shmget(0x99, IPC_CREAT | 0o666, 4096)),
        record(OTHER, message(77, b'\0' * 8)),
        record(OTHER, message(SHMGET, b'\0' * 15)),
        record(OTHER | FRESH | RAW, message(SHMGET, b'\0' * 16, version=0x7777)),
        record(GROUPED | FRESH | RAW, message(SHMCTL, b'\0' * 32, magic=0)),
        record(CREATOR | RAW, message(SEMOPEN, b'\0' * 8, length=99)),
        record(CREATOR, message(SEMOPEN, b'\0' * 8, length=99)),
        record(ROOT | RAW, b'\x01\x02\x03'),
        record(OTHER | PAD, message(SEMWAITZERO, b'\0' * 8)),
        record(OTHER | RAW, message(SEMWAITZERO, b'\0' * 8)),
        record(OTHER | PAD, message(MSGOPEN, b'')),
        record(OTHER, message(SEMWAITZEROEND, b'\0' * 15)),
    ],
}

os.makedirs('corpus/handler', exist_ok=True)
for name, records in seeds.items():
    with open(os.path.join('corpus/handler', name), 'wb') as f:
        f.write(b''.join(records))
