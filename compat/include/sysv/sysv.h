/*
 * libsysv: System V IPC served in user space.
 *
 * This header is libsysv's only public surface. Programs that link libsysv
 * on purpose call the sysv_ prefixed functions; unmodified programs reach the
 * same code through the standard names (shmget ...), which libsysv.so exports
 * for LD_PRELOAD. Every function behaves as its Linux system call: it returns
 * -1 and sets errno on failure, with the kernel's errno.
 *
 * The namespace is the directory named by SYSVIPC_DIR (default:
 * $XDG_RUNTIME_DIR/sysvipc, else /dev/shm/sysvipc-<uid>). When no daemon
 * answers there, the library starts one unless SYSVIPC_AUTOSTART=0; then
 * calls that need the daemon fail with ECONNREFUSED and a message on stderr.
 */
#ifndef SYSV_COMPAT_INCLUDE_SYSV_SYSV_H_
#define SYSV_COMPAT_INCLUDE_SYSV_SYSV_H_

#include <stddef.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

int sysv_shmget(key_t key, size_t size, int shmflg);
void* sysv_shmat(int shmid, const void* shmaddr, int shmflg);
int sysv_shmdt(const void* shmaddr);
int sysv_shmctl(int shmid, int cmd, struct shmid_ds* buf);

int sysv_semget(key_t key, int nsems, int semflg);
int sysv_semop(int semid, struct sembuf* sops, size_t nsops);
int sysv_semtimedop(int semid, struct sembuf* sops, size_t nsops, const struct timespec* timeout);
int sysv_semctl(int semid, int semnum, int cmd, ...);

int sysv_msgget(key_t key, int msgflg);
int sysv_msgsnd(int msqid, const void* msgp, size_t msgsz, int msgflg);
ssize_t sysv_msgrcv(int msqid, void* msgp, size_t msgsz, long msgtyp, int msgflg);
int sysv_msgctl(int msqid, int cmd, struct msqid_ds* buf);

#ifdef __cplusplus
}
#endif

#endif /* SYSV_COMPAT_INCLUDE_SYSV_SYSV_H_ */
