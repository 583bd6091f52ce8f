/* tests/bench/bench_tbb.cpp - oneTBB's parallel_pipeline with empty filters,
 * the reference for bench_overhead (the only C++ in sluice: a bench driver).
 *
 * usage: bench_tbb [-n ITEMS] [-k TRANSFORMS] [-r RUNS] [-t THREADS,...]
 *                  [-m MODE,...] -T TOKENS [-w]
 *
 * Builds what bench_overhead builds, in oneTBB: an input filter that makes
 * ITEMS items (a uint64_t each, the item's number), K pass-through filters
 * and an output filter that drops the item; every filter, the input one
 * included, runs in the mode under test, mapped as
 *   parallel -> filter_mode::parallel
 *   serial   -> filter_mode::serial_out_of_order  (one at a time, any order)
 *   ordered  -> filter_mode::serial_in_order      (one at a time, source order)
 * with max_number_of_live_tokens = TOKENS (run.sh passes the bound on live
 * batches that bench_overhead prints for the same configuration, i.e. what
 * sluice's queue capacities and concurrencies allow), inside a task_arena of
 * THREADS threads (and a global_control capping the process at the largest
 * thread count asked for). Timed: the parallel_pipeline call only.
 *
 * -w runs one untimed warm-up of ITEMS/10 items per configuration first
 * (worker threads started, allocator warm), as bench_overhead -w does.
 * For each run (outer loop), thread count and mode (inner loops) prints:
 *   run R mode M threads T batches N stages S tokens L seconds W ns_batch X ns_batch_stage Y
 * the same line as bench_overhead, S = K + 2, X = W / N, Y = X / S.
 * Exit status 0, 1 when a run loses items, 2 on bad usage. */
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/task_arena.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

const char *const mode_names[] = {"", "parallel", "serial", "ordered"};

tbb::filter_mode tbb_mode(int m)
{
    switch (m) {
    case 1: return tbb::filter_mode::parallel;
    case 2: return tbb::filter_mode::serial_out_of_order;
    default: return tbb::filter_mode::serial_in_order;
    }
}

/* Seconds for one run, or a negative value when items were lost. */
double run_once(int threads, int mode, int k, std::uint64_t items, std::size_t tokens)
{
    tbb::filter_mode fm = tbb_mode(mode);
    std::atomic<std::uint64_t> next{0};
    auto src = tbb::make_filter<void, std::uint64_t>(fm, [&](tbb::flow_control &fc) {
        /* Relaxed: only uniqueness of the numbers matters, as for sluice's seqs. */
        std::uint64_t s = next.fetch_add(1, std::memory_order_relaxed);
        if (s >= items)
            fc.stop();
        return s;
    });
    tbb::filter<void, std::uint64_t> chain = src;
    for (int i = 0; i < k; i++)
        chain = chain & tbb::make_filter<std::uint64_t, std::uint64_t>(
                            fm, [](std::uint64_t x) { return x; });
    tbb::filter<void, void> whole =
        chain & tbb::make_filter<std::uint64_t, void>(fm, [](std::uint64_t) {});
    tbb::task_arena arena(threads);
    auto t0 = std::chrono::steady_clock::now();
    arena.execute([&] { tbb::parallel_pipeline(tokens, whole); });
    auto t1 = std::chrono::steady_clock::now();
    /* The source made items numbers, then said stop (once or more in parallel
     * mode), and parallel_pipeline returns only when every item is through. */
    if (next.load() < items) {
        std::fprintf(stderr, "bench_tbb: threads %d mode %s: %llu items made, expected %llu\n",
                     threads, mode_names[mode], (unsigned long long)next.load(),
                     (unsigned long long)items);
        return -1.0;
    }
    return std::chrono::duration<double>(t1 - t0).count();
}

int parse_list(char *s, std::vector<int> &out, bool modes)
{
    out.clear();
    for (char *tok = std::strtok(s, ","); tok; tok = std::strtok(nullptr, ",")) {
        int v = 0;
        if (modes) {
            for (int m = 1; m <= 3; m++)
                if (std::strcmp(tok, mode_names[m]) == 0)
                    v = m;
        } else {
            v = std::atoi(tok);
        }
        if (v <= 0 || v > 256)
            return -1;
        out.push_back(v);
    }
    return (int)out.size();
}

} // namespace

int main(int argc, char **argv)
{
    std::uint64_t items = 200000;
    int k = 1, runs = 5;
    long tokens = 0;
    bool warm = false;
    std::vector<int> threads{1, 2}, modes{1, 2, 3};
    for (int i = 1; i < argc; i++) {
        std::string opt = argv[i];
        if (opt == "-w") {
            warm = true;
            continue;
        }
        char *val = i + 1 < argc ? argv[i + 1] : nullptr;
        bool ok = val != nullptr;
        if (ok && opt == "-n")
            ok = (items = std::strtoull(val, nullptr, 10)) > 0;
        else if (ok && opt == "-k")
            ok = (k = std::atoi(val)) >= 0 && k <= 64;
        else if (ok && opt == "-r")
            ok = (runs = std::atoi(val)) > 0;
        else if (ok && opt == "-t")
            ok = parse_list(val, threads, false) > 0;
        else if (ok && opt == "-m")
            ok = parse_list(val, modes, true) > 0;
        else if (ok && opt == "-T")
            ok = (tokens = std::atol(val)) > 0;
        else
            ok = false;
        if (!ok) {
            std::fprintf(stderr, "usage: bench_tbb [-n ITEMS] [-k TRANSFORMS] [-r RUNS] "
                                 "[-t THREADS,...] [-m parallel,serial,ordered] -T TOKENS [-w]\n");
            return 2;
        }
        i++;
    }
    if (tokens <= 0) {
        std::fprintf(stderr, "bench_tbb: -T TOKENS is required (bench_overhead prints it)\n");
        return 2;
    }
    int maxt = 1;
    for (int t : threads)
        maxt = t > maxt ? t : maxt;
    tbb::global_control cap(tbb::global_control::max_allowed_parallelism, (std::size_t)maxt);
    int stages = k + 2;
    if (warm)
        for (int t : threads)
            for (int m : modes)
                if (run_once(t, m, k, items / 10 + 1, (std::size_t)tokens) < 0)
                    return 1;
    for (int r = 0; r < runs; r++)
        for (int t : threads)
            for (int m : modes) {
                double s = run_once(t, m, k, items, (std::size_t)tokens);
                if (s < 0)
                    return 1;
                double per = s * 1e9 / (double)items;
                std::printf("run %d mode %s threads %d batches %llu stages %d tokens %ld seconds "
                            "%.6f ns_batch %.1f ns_batch_stage %.1f\n",
                            r, mode_names[m], t, (unsigned long long)items, stages, tokens, s, per,
                            per / stages);
                std::fflush(stdout);
            }
    return 0;
}
