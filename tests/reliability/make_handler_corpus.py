#!/usr/bin/env python3
"""Writes the seed corpus of handler_fuzzer.cc (records: control, length,
message). Run from this directory: python3 make_handler_corpus.py"""
import os
import struct

MAGIC, VERSION = 0x56535953, 1
REGISTER, SHMGET, SHMATTACH, SHMCTL, SEMGET, SEMCTL, SHMSWEEP, SEMOPEN = 1, 2, 3, 4, 5, 6, 9, 10
IPC_CREAT, IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO = 0o1000, 0, 1, 2, 3
SHM_RDONLY, SHM_EXEC, SHM_LOCK, SHM_UNLOCK, SHM_STAT, SHM_INFO = 0o10000, 0o100000, 11, 12, 13, 14
GETVAL, SETVAL, SEM_STAT, SEM_INFO = 12, 16, 18, 19
ROOT, CREATOR, GROUPED, OTHER = 0, 1, 2, 3
FRESH, UNREGISTERED, FIX, BY_INDEX = 0x04, 0x08, 0x10, 0x20
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
def semctl(index, cmd, uid=0, gid=0, mode=0):
    return message(SEMCTL, struct.pack('<iiIIII', index, cmd, uid, gid, mode, 0))

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
    'protocol_errors': [
        record(ROOT | UNREGISTERED | FRESH, shmget(0x99, IPC_CREAT | 0o666, 4096)),
        record(OTHER, message(77, b'\0' * 8)),
        record(OTHER, message(SHMGET, b'\0' * 15)),
        record(OTHER | FRESH | RAW, message(SHMGET, b'\0' * 16, version=0x7777)),
        record(GROUPED | FRESH | RAW, message(SHMCTL, b'\0' * 32, magic=0)),
        record(CREATOR | RAW, message(SEMOPEN, b'\0' * 8, length=99)),
        record(CREATOR, message(SEMOPEN, b'\0' * 8, length=99)),
        record(ROOT | RAW, b'\x01\x02\x03'),
    ],
}

os.makedirs('corpus/handler', exist_ok=True)
for name, records in seeds.items():
    with open(os.path.join('corpus/handler', name), 'wb') as f:
        f.write(b''.join(records))
