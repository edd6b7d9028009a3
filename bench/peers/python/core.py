#!/usr/bin/python3
"""The core workloads (a)-(g) of the side-by-side benchmarks (issue 5) in CPython's asyncio, or in
uvloop with --uvloop. The same command line and output as bench/core_workloads.cpp (asyncio-cpp)
and bench/peers/asio/core.cpp (Asio); bench/peers/core_common.hpp describes the contract.

    /usr/bin/python3 bench/peers/python/core.py --workload all --repeat 5 [--quick] [--uvloop]

Run it with Debian's /usr/bin/python3 (3.11, where python3-uvloop is installed), not another
python3 that may come first on PATH.

Every program is written the way a Python programmer would write it: plain generators, async def,
asyncio.create_task/gather/sleep/Event/Queue. Lookups of module attributes are hoisted out of the
hot loops (a common idiom), so the figures are the runtime's cost and not the dictionary lookups of
a naive loop. The cyclic garbage collector is left on: it is part of what asyncio costs.
"""

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import time

# The counts of the full run; --quick divides each by 10 (the same as core_common.hpp).
COUNTS = {
    "generator_values": 5_000_000,
    "ready_awaits": 2_000_000,
    "tasks": 1_000_000,
    "switches": 1_000_000,
    "sleeping_tasks": 1_000_000,
    "idle_tasks": 100_000,
    "gather_tasks": 100_000,
    "queue_items": 1_000_000,
}

# Workload groups in the order of `all`, and the rows each prints.
GROUPS = [
    ("a_generator_send", ["a_generator_next", "a_generator_send"]),
    ("b_await_ready_coro", ["b_await_ready_coro"]),
    ("c_task_create_await", ["c_task_create_await"]),
    ("d_sleep0_pingpong", ["d_sleep0_pingpong"]),
    ("e_sleeping_tasks", ["e_sleeping_tasks_time", "e_sleeping_tasks_rss"]),
    ("f_idle_task_memory", ["f_idle_task_memory"]),
    ("g_gather", ["g_gather"]),
    ("g_queue", ["g_queue"]),
]

SEED = 20261123

perf_counter_ns = time.perf_counter_ns


def fail(what):
    print(f"error: {what}", file=sys.stderr)
    sys.exit(1)


def check(ok, what):
    if not ok:
        fail(f"check failed: {what}")


def peak_rss_kib():
    # VmHWM, the peak of this process's own address space. getrusage's ru_maxrss would do for a
    # process started from a small launcher, but Linux carries it across fork and exec, so a child
    # of a parent that had grown (this script after g_gather) would report the parent's peak.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1])
    except OSError:
        pass
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


# --- (a) generators ---------------------------------------------------------------------------


def count_from(start):
    i = start
    while True:
        yield i
        i += 1


def running_sum(total):
    while True:
        total += yield total


def generator_next(n):
    total = 0
    seen = 0
    t0 = perf_counter_ns()
    for v in count_from(0):
        total += v
        seen += 1
        if seen == n:
            break
    t1 = perf_counter_ns()
    check(total == n * (n - 1) // 2, "generator values")
    return (t1 - t0) / n


def generator_send(n):
    gen = running_sum(0)
    check(next(gen) == 0, "generator primed")
    send = gen.send
    last = 0
    t0 = perf_counter_ns()
    for _ in range(n):
        last = send(1)
    t1 = perf_counter_ns()
    check(last == n, "running sum")
    return (t1 - t0) / n


# --- (b) await of a coroutine that returns at once ----------------------------------------------


async def ready_value(x):
    return x


async def await_ready(n):
    total = 0
    t0 = perf_counter_ns()
    for i in range(n):
        total += await ready_value(i & 0xFF)
    t1 = perf_counter_ns()
    return (t1 - t0) / n


# --- (c) create + run + await of a task, one after the other ----------------------------------


async def task_create_await(n):
    create_task = asyncio.create_task
    total = 0
    t0 = perf_counter_ns()
    for _ in range(n):
        total += await create_task(ready_value(1))
    t1 = perf_counter_ns()
    check(total == n, "every task ran")
    return (t1 - t0) / n


# --- (d) two tasks alternating by sleep(0) ------------------------------------------------------


async def sleep0_loop(rounds, done):
    sleep = asyncio.sleep
    for _ in range(rounds):
        await sleep(0)
        done[0] += 1


async def sleep0_pingpong(switches):
    half = switches // 2
    done_a, done_b = [0], [0]
    t0 = perf_counter_ns()
    a = asyncio.create_task(sleep0_loop(half, done_a))
    b = asyncio.create_task(sleep0_loop(half, done_b))
    await a
    await b
    t1 = perf_counter_ns()
    check(done_a[0] + done_b[0] == 2 * half, "every sleep(0) returned")
    return (t1 - t0) / (2 * half)


# --- (e) a million sleeping tasks, gathered -----------------------------------------------------


async def sleeper(delay):
    await asyncio.sleep(delay)


async def sleeping_tasks(n):
    # Delays uniform in [0, 100) ms from a fixed seed, drawn before the measured region.
    rng = random.Random(SEED)
    delays = [rng.random() * 0.1 for _ in range(n)]
    create_task = asyncio.create_task
    t0 = perf_counter_ns()
    tasks = [create_task(sleeper(d)) for d in delays]
    await asyncio.gather(*tasks)
    t1 = perf_counter_ns()
    return (t1 - t0) / 1e9


# --- (f) idle tasks on one Event ----------------------------------------------------------------


async def wait_event(event):
    await event.wait()


async def idle_tasks_peak_rss_kib(n):
    event = asyncio.Event()
    create_task = asyncio.create_task
    tasks = [create_task(wait_event(event)) for _ in range(n)]
    await asyncio.sleep(0)  # every task has run its first step and waits now
    check(len(event._waiters) == n, "every task waits")
    kib = peak_rss_kib()
    event.set()
    await asyncio.gather(*tasks)
    return kib


# --- (g) gather and Queue -----------------------------------------------------------------------


async def gather(n):
    create_task = asyncio.create_task
    t0 = perf_counter_ns()
    tasks = [create_task(ready_value(1)) for _ in range(n)]
    results = await asyncio.gather(*tasks)
    t1 = perf_counter_ns()
    check(sum(results) == n, "every result gathered")
    return (t1 - t0) / n


async def producer(q, n):
    put = q.put
    for _ in range(n):
        await put(1)


async def queue(n):
    q = asyncio.Queue(maxsize=1)
    get = q.get
    total = 0
    t0 = perf_counter_ns()
    p = asyncio.create_task(producer(q, n))
    for _ in range(n):
        total += await get()
    await p
    t1 = perf_counter_ns()
    check(total == n, "every item got")
    return (t1 - t0) / n


# --- running ------------------------------------------------------------------------------------


def loop_factory(use_uvloop):
    if use_uvloop:
        import uvloop  # imported only when asked: plain asyncio must run without it

        return uvloop.new_event_loop
    return None  # asyncio.Runner's default: a new event loop of the default policy


def run(coro_fn, arg, use_uvloop):
    # A fresh loop per measurement, as asyncio.run() makes; debug mode off whatever
    # PYTHONASYNCIODEBUG says.
    with asyncio.Runner(debug=False, loop_factory=loop_factory(use_uvloop)) as runner:
        return runner.run(coro_fn(arg))


def run_child(args, group, tasks):
    # One measurement in a fresh interpreter; it prints its numbers on stdout.
    cmd = [sys.executable, os.path.abspath(__file__), "--child", group, "--child-tasks", str(tasks)]
    if args.uvloop:
        cmd.append("--uvloop")
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return [float(x) for x in out.split()]


def emit(workload, system, value, unit, rep):
    print(json.dumps({"workload": workload, "system": system, "value": float(f"{value:.6g}"),
                      "unit": unit, "rep": rep}), flush=True)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workload", default="all", help="a group or row name, a comma-separated list, or all")
    p.add_argument("--repeat", type=int, default=5, help="measurements per workload (default 5)")
    p.add_argument("--quick", action="store_true", help="every count / 10")
    p.add_argument("--count", type=int, help="every count = N (callgrind runs N and 2N operations)")
    p.add_argument("--uvloop", action="store_true", help="run on uvloop instead of asyncio's own loop")
    p.add_argument("--list", action="store_true", help="print the rows this program produces and exit")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--child-tasks", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.repeat < 1:
        p.error("--repeat needs a number >= 1")
    if args.count is not None and args.count < 1:
        p.error("--count needs a number >= 1")
    group_of = {"a_generator": "a_generator_send"}
    for group, rows in GROUPS:
        group_of[group] = group
        for row in rows:
            group_of[row] = group
    if args.workload == "all":
        wanted = {g for g, _ in GROUPS}
    else:
        wanted = set()
        for name in args.workload.split(","):
            if name not in group_of:
                p.error(f"unknown workload {name}")
            wanted.add(group_of[name])
    args.groups = [g for g, _ in GROUPS if g in wanted]
    return args


def main():
    args = parse_args()
    counts = {k: (v // 10 if args.quick else v) for k, v in COUNTS.items()}
    if args.count:
        counts = dict.fromkeys(COUNTS, args.count)
    system = "uvloop" if args.uvloop else "asyncio"
    uv = args.uvloop

    if args.child:
        if args.child == "e_sleeping_tasks":
            seconds = run(sleeping_tasks, args.child_tasks, uv)
            print(f"{seconds:.9g} {peak_rss_kib():.9g}")
        elif args.child == "f_idle_task_memory":
            print(f"{run(idle_tasks_peak_rss_kib, args.child_tasks, uv):.9g}")
        else:
            fail(f"bad --child {args.child}")
        return

    if args.list:
        for _, rows in GROUPS:
            for row in rows:
                print(row)
        return

    for group in args.groups:
        for rep in range(args.repeat):
            if group == "a_generator_send":
                # No event loop: the same figure for asyncio and uvloop.
                emit("a_generator_next", system, generator_next(counts["generator_values"]), "ns/value", rep)
                emit("a_generator_send", system, generator_send(counts["generator_values"]), "ns/value", rep)
            elif group == "b_await_ready_coro":
                emit(group, system, run(await_ready, counts["ready_awaits"], uv), "ns/await", rep)
            elif group == "c_task_create_await":
                emit(group, system, run(task_create_await, counts["tasks"], uv), "ns/task", rep)
            elif group == "d_sleep0_pingpong":
                emit(group, system, run(sleep0_pingpong, counts["switches"], uv), "ns/switch", rep)
            elif group == "e_sleeping_tasks":
                seconds, rss_kib = run_child(args, group, counts["sleeping_tasks"])
                emit("e_sleeping_tasks_time", system, seconds, "s", rep)
                emit("e_sleeping_tasks_rss", system, rss_kib / 1024, "MiB", rep)
            elif group == "f_idle_task_memory":
                # The empty run and the full run, each in its own interpreter.
                (empty,) = run_child(args, group, 0)
                (full,) = run_child(args, group, counts["idle_tasks"])
                emit(group, system, (full - empty) * 1024 / counts["idle_tasks"], "bytes/task", rep)
            elif group == "g_gather":
                emit(group, system, run(gather, counts["gather_tasks"], uv), "ns/task", rep)
            elif group == "g_queue":
                emit(group, system, run(queue, counts["queue_items"], uv), "ns/item", rep)


if __name__ == "__main__":
    main()
