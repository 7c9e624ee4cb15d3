/* lwIP's operating-system types for Mica (lwIP's arch/sys_arch.h): semaphores, mutexes and
 * mailboxes are handles to kernel objects (sched::Semaphore, sched::Mutex, a bounded queue
 * over sched::Mutex and sched::CondVar) that net/lwip/sys_arch.cc allocates; a null handle is
 * "invalid", as lwIP's sys_*_valid() expects. */
#ifndef MICA_LWIP_ARCH_SYS_ARCH_H
#define MICA_LWIP_ARCH_SYS_ARCH_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mica_lwip_sem { void* object; } sys_sem_t;
typedef struct mica_lwip_mutex { void* object; } sys_mutex_t;
typedef struct mica_lwip_mbox { void* object; } sys_mbox_t;
typedef void* sys_thread_t;
/* sys_arch_protect()'s saved state: whether interrupts were on. */
typedef int sys_prot_t;

#define sys_sem_valid(sem) ((sem) != NULL && (sem)->object != NULL)
#define sys_sem_set_invalid(sem) do { if ((sem) != NULL) (sem)->object = NULL; } while (0)
#define sys_mutex_valid(mutex) ((mutex) != NULL && (mutex)->object != NULL)
#define sys_mutex_set_invalid(mutex) do { if ((mutex) != NULL) (mutex)->object = NULL; } while (0)
#define sys_mbox_valid(mbox) ((mbox) != NULL && (mbox)->object != NULL)
#define sys_mbox_set_invalid(mbox) do { if ((mbox) != NULL) (mbox)->object = NULL; } while (0)

#ifdef __cplusplus
}
#endif

#endif /* MICA_LWIP_ARCH_SYS_ARCH_H */
