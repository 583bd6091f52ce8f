/* primes_kernel.h - prime and twin-prime counts over [lo, hi), on libprimesieve.
 *
 * Pure, sequential and reentrant: all state is in the caller's iterator. The
 * caller sets primesieve_set_num_threads(1) once, because libprimesieve
 * otherwise starts its own threads for counts.
 *
 * twins(lo, hi) counts p in [lo, hi) with p and p+2 both prime (p+2 may be
 * >= hi), so the counts over adjacent intervals add up to the count of p below
 * the last hi. Valid for any 64-bit lo, hi (primesieve_get_max_stop() is
 * 2^64-1); hi <= lo is empty. */
#ifndef SL_PRIMES_KERNEL_H
#define SL_PRIMES_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include <primesieve.h>

/* The largest prime below 2^64; libprimesieve throws past it. */
#define SL_PRIMES_LARGEST_U64 UINT64_C(18446744073709551557)

/* Number of primes in [lo, hi): one primesieve_count_primes call. */
uint64_t sl_primes_count(uint64_t lo, uint64_t hi);

/* An iterator and where its stream of primes stands. An interval that starts
 * where the last one ended (an instance given consecutive intervals, as one
 * thread is) continues the stream instead of repositioning the iterator,
 * which would set its sieve up again (~3 ms per interval of 10^8 near
 * 10^10, 7% of the stage's time in the default job). */
typedef struct sl_primes_cursor {
    primesieve_iterator it;
    uint64_t next_lo; /* the hi of the last interval ... */
    size_t next_i;    /* ... and the index in it.primes of the first prime >= it */
    int ready;        /* next_lo and next_i hold */
} sl_primes_cursor;

void sl_primes_cursor_init(sl_primes_cursor *c);
void sl_primes_cursor_free(sl_primes_cursor *c);

/* Primes and twins in [lo, hi) in one sieve pass: walks the iterator's prime
 * arrays in bulk, counting their lengths and adjacent gaps of 2; any lo and
 * hi in any order. Returns 0, or -1 when libprimesieve reported an error. */
int sl_primes_count_twins(sl_primes_cursor *c, uint64_t lo, uint64_t hi, uint64_t *primes,
                          uint64_t *twins);

/* Number of k in [1, n) with p[k] - p[k-1] == 2 (p ascending, gaps < 2^32).
 * The inner loop of sl_primes_count_twins; written to vectorise. */
uint64_t sl_primes_gaps_of_two(const uint64_t *restrict p, size_t n);

#endif
