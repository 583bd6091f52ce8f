/* tests/unit/test_library_lock.c - sl_library_lock: one recursive lock per library.
 *
 * A second thread tries the lock while the test holds it; it must get it only
 * after the last unlock. Names match without case, and names not in the
 * table share one catch-all lock, separate from "hdf5"'s. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <criterion/criterion.h>

#include <sluice/stage.h>

typedef struct taker {
    const char *name;
    atomic_bool got;
    pthread_t t;
} taker;

static void *take(void *arg)
{
    taker *k = arg;
    sl_library_lock(k->name);
    atomic_store(&k->got, true);
    sl_library_unlock(k->name);
    return NULL;
}

static void start(taker *k, const char *name)
{
    k->name = name;
    atomic_init(&k->got, false);
    cr_assert_eq(pthread_create(&k->t, NULL, take, k), 0);
}

/* True when the taker got the lock within ms milliseconds. */
static bool got_within(taker *k, int ms)
{
    for (int i = 0; i < ms && !atomic_load(&k->got); i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    return atomic_load(&k->got);
}

Test(library_lock, is_recursive_and_excludes_other_threads_until_the_last_unlock)
{
    taker k;
    sl_library_lock("hdf5");
    sl_library_lock("hdf5"); /* recursive: does not deadlock */
    start(&k, "HDF5");      /* the same lock, whatever the case */
    cr_assert_not(got_within(&k, 50), "taken while held twice");
    sl_library_unlock("hdf5");
    cr_assert_not(got_within(&k, 50), "taken while still held once");
    sl_library_unlock("hdf5");
    cr_assert(got_within(&k, 5000), "not taken after the last unlock");
    pthread_join(k.t, NULL);
}

Test(library_lock, unknown_names_share_a_catch_all_lock_apart_from_hdf5)
{
    taker other, h5;
    sl_library_lock("libfoo");
    start(&other, "libbar");
    start(&h5, "hdf5");
    cr_assert(got_within(&h5, 5000), "hdf5 waits for an unrelated library");
    cr_assert_not(got_within(&other, 50), "two unknown names did not share a lock");
    sl_library_unlock("libfoo");
    cr_assert(got_within(&other, 5000));
    pthread_join(other.t, NULL);
    pthread_join(h5.t, NULL);
}
