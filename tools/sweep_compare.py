#!/usr/bin/env python3
"""sweep_compare.py CPYTHON_JSON JOURNAL...: where the full sweep's ratio to CPython comes from.

CPYTHON_JSON is what ../shared/tools/peer/cross_sweep.py writes with --json (one record per
call: solver, task, sample, outcome, ..., seconds, ...); each JOURNAL is a results.jsonl of
`battfarm score` over the same solvers and tasks (its cpu_us per result; with several journals,
the mean). Prints, per solver, CPython's summed per-call time against our evaluation time:
the solvers with the most of our time, and the solvers grouped by their ratio. The ratio of the
sums is not the sweep's wall-time ratio (CPython's pool and our farm have their own overheads,
and CPython runs duplicate solvers that our DAG runs once), but it tells which solvers hold the
ratio down. It also splits both sides' time by how CPython's call ended: a call CPython did not
finish within its limit counts as the limit (about 1 s) on its side, whatever it would have taken,
so our time on those calls lowers the ratio and no speed-up of ours can raise CPython's side.
bench_sweep.sh runs it after its CPython run.
"""
import collections
import json
import sys

TOP = 15
BUCKETS = ((0, 10, "under 10x"), (10, 20, "10x to 20x"), (20, 50, "20x to 50x"), (50, float("inf"), "50x or more"))


def journal_sample(sample):
    """cross_sweep.py's 'train[0]' / 'test[0]' as the journal's 'demo/0' / 'test/0'."""
    kind, _, index = sample.rstrip("]").partition("[")
    return ("demo" if kind == "train" else kind) + "/" + index


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: sweep_compare.py CPYTHON_JSON JOURNAL...\n")
        return 2
    with open(argv[1]) as f:
        cpython = json.load(f)
    py = collections.Counter()
    py_timeouts = collections.Counter()
    py_timed_out_calls = set()  # (solver, task, sample) as the journal names them
    py_by_end = collections.Counter()  # CPython's seconds by how its calls ended
    for record in cpython["results"]:
        solver, task, sample, outcome, seconds = "solve_" + record[0], record[1], record[2], record[3], record[5]
        py[solver] += seconds
        end = "timeout" if outcome == "timeout" else "finished"
        py_by_end[end] += seconds
        if outcome == "timeout":
            py_timeouts[solver] += 1
            py_timed_out_calls.add((solver, task, journal_sample(sample)))
    ours = collections.Counter()
    ours_by_end = collections.Counter()
    journals = argv[2:]
    for path in journals:
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                seconds = r.get("cpu_us", 0) / 1e6 / len(journals)
                ours[r["name"]] += seconds
                timed_out = (r["name"], r["task"], r["sample"]) in py_timed_out_calls
                ours_by_end["timeout" if timed_out else "finished"] += seconds
    total_py, total_ours = sum(py.values()), sum(ours.values())
    print(f"CPython's per-call times sum to {total_py:.1f} s, our evaluation to {total_ours:.2f} s "
          f"(mean of {len(journals)} journal(s)): {total_py / total_ours:.1f}x")
    print("split by how CPython's call ended:")
    print("| CPython's calls | calls | CPython s | ours s | ratio |")
    print("|---|---|---|---|---|")
    n_calls = len(cpython["results"])
    for end, label, count in (("finished", "finished (returned or raised)", n_calls - len(py_timed_out_calls)),
                              ("timeout", "stopped at the limit", len(py_timed_out_calls))):
        ratio = f"{py_by_end[end] / ours_by_end[end]:.1f}x" if ours_by_end[end] > 0 else "-"
        print(f"| {label} | {count} | {py_by_end[end]:.1f} | {ours_by_end[end]:.2f} | {ratio} |")
    print(f"the {TOP} solvers with the most of our time:")
    print("| solver | ours s | CPython s (time-outs) | ratio |")
    print("|---|---|---|---|")
    for solver, t in ours.most_common(TOP):
        print(f"| {solver} | {t:.2f} | {py[solver]:.1f} ({py_timeouts[solver]}) | {py[solver] / t:.1f}x |")
    print("all solvers by their ratio (a solver with no evaluation time of its own, a duplicate, "
          "is left out):")
    print("| ratio | solvers | ours s | CPython s |")
    print("|---|---|---|---|")
    for lo, hi, label in BUCKETS:
        group = [s for s, t in ours.items() if t > 0 and lo <= py[s] / t < hi]
        print(f"| {label} | {len(group)} | {sum(ours[s] for s in group):.2f} | {sum(py[s] for s in group):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
