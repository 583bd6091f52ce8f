/* lib/util/library_lock.c - process-wide locks for libraries that are not thread-safe.
 *
 * Some libraries a stage may call keep global state without locks (Debian's
 * parallel HDF5 build is not thread-safe), and two stages can call the same
 * one from two tasks at once: a source reading an HDF5 file while the sink
 * writes another. Each such library gets one recursive mutex here, shared by
 * every stage of the process, so a task holds it for one short call sequence.
 * Recursive, so a helper that takes the lock may be called with it held.
 *
 * The table is the only static state of the kind the style otherwise avoids:
 * a lock that serialises a process-wide library must itself be process-wide.
 * Names are compared without case; a name not in the table shares one
 * catch-all lock, which is always correct (it only serialises more). */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include <sluice/stage.h>

typedef struct named_lock {
    const char *name; /* NULL: the catch-all entry, last */
    pthread_mutex_t mutex;
} named_lock;

static named_lock locks[] = {{.name = "hdf5"}, {.name = NULL}};
#define NLOCKS (sizeof locks / sizeof locks[0])
static pthread_once_t locks_once = PTHREAD_ONCE_INIT;

static void init_locks(void)
{
    pthread_mutexattr_t a;
    bool ok = pthread_mutexattr_init(&a) == 0 &&
              pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE) == 0;
    for (size_t i = 0; ok && i < NLOCKS; i++)
        ok = pthread_mutex_init(&locks[i].mutex, &a) == 0;
    /* These calls fail only on bad arguments or no memory at start-up; a lock
     * that silently does not exclude would corrupt the library, so stop. */
    if (!ok) {
        fprintf(stderr, "sluice: cannot make the library locks\n");
        abort();
    }
    pthread_mutexattr_destroy(&a);
}

static pthread_mutex_t *lock_for(const char *library)
{
    pthread_once(&locks_once, init_locks);
    size_t i = 0;
    while (i + 1 < NLOCKS && !(library && strcasecmp(locks[i].name, library) == 0))
        i++;
    return &locks[i].mutex;
}

void sl_library_lock(const char *library)
{
    pthread_mutex_lock(lock_for(library));
}

void sl_library_unlock(const char *library)
{
    pthread_mutex_unlock(lock_for(library));
}
