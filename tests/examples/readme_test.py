#!/usr/bin/python3
"""The README's snippets are real programs: each ```cpp block that follows a line
`<!-- examples/readme/NAME.cpp -->` must be that file, verbatim, and the ``` block after the next
"Prints:" must be what the built program prints.

    readme_test.py README.md BUILD_EXAMPLES_DIR
"""

import os
import re
import subprocess
import sys


def main():
    readme_path, build = sys.argv[1], sys.argv[2]
    root = os.path.dirname(os.path.abspath(readme_path))
    text = open(readme_path).read()
    pattern = re.compile(
        r"<!-- (examples/readme/(\w+)\.cpp) -->\n```cpp\n(.*?)```\n+Prints:\n+```\n(.*?)```", re.S)
    found = pattern.findall(text)
    if not found:
        sys.exit("readme_test: no snippets found in the README")
    failures = []
    for path, name, shown, prints in found:
        source = open(os.path.join(root, path)).read()
        if shown != source:
            failures.append(f"{path}: the README's copy differs from the file")
        binary = os.path.join(build, "readme", f"readme_{name}")
        run = subprocess.run([binary], capture_output=True, text=True, timeout=60)
        if run.returncode != 0:
            failures.append(f"{path}: exited {run.returncode}: {run.stderr}")
        elif run.stdout != prints:
            failures.append(f"{path}: printed {run.stdout!r}, the README says {prints!r}")
        else:
            print(f"{path}: as the README says")
    for f in failures:
        print(f, file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
