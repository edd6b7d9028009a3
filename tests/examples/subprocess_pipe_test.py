#!/usr/bin/python3
"""Test of examples/subprocess_pipe against the shell: for each N, the example's two answers must be
what `seq 1 N | wc -l` and `seq 1 N | sort -rn | head -3` give when /bin/sh pipes them itself.

Usage: subprocess_pipe_test.py PATH_TO_SUBPROCESS_PIPE. Exit status 0 is a pass; a failure prints
why. Every run has a timeout, so a hang is a failure, not a stuck CI.
"""
import subprocess
import sys

TIMEOUT = 60


def shell(command):
    return " ".join(subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True,
                                   timeout=TIMEOUT, check=True).stdout.split())


def check(example, n):
    r = subprocess.run([example, str(n)], capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, (n, r.returncode, r.stdout, r.stderr)
    expected = (f"seq 1 {n} | wc -l: {shell(f'seq 1 {n} | wc -l')}\n"
                f"seq 1 {n} | sort -rn | head -3: {shell(f'seq 1 {n} | sort -rn | head -3')}\n")
    assert r.stdout == expected, (n, r.stdout, expected)


def main():
    example = sys.argv[1]
    for n in (100000, 7, 1, 0):
        check(example, n)
    r = subprocess.run([example, "not-a-number"], capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 2 and "usage" in r.stderr, (r.returncode, r.stderr)


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        raise SystemExit(f"FAIL: {e}")
