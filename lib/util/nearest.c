/* lib/util/nearest.c - "did you mean" for names typed by people.
 *
 * Damerau-Levenshtein (optimal string alignment) distance, so a swapped
 * pair of letters counts as one typo. A candidate is offered only when the
 * distance is small against the word's length; otherwise silence is more
 * helpful than a wild guess. */
#include <stdlib.h>
#include <string.h>

#include <sluice/param.h>

#define NEAREST_MAX_LEN 64

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

static size_t osa_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la >= NEAREST_MAX_LEN || lb >= NEAREST_MAX_LEN)
        return (size_t)-1;
    size_t d[NEAREST_MAX_LEN + 1][NEAREST_MAX_LEN + 1];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < d[i][j])
                d[i][j] = d[i - 2][j - 2] + 1;
        }
    }
    return d[la][lb];
}

const char *sl_nearest(const char *word, const char *const *candidates, size_t n)
{
    if (!word)
        return NULL;
    size_t limit = strlen(word) <= 4 ? 1 : (strlen(word) <= 8 ? 2 : 3);
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        if (!candidates[i])
            continue;
        size_t dist = osa_distance(word, candidates[i]);
        if (dist < best_d) {
            best_d = dist;
            best = candidates[i];
        }
    }
    return best_d <= limit ? best : NULL;
}
