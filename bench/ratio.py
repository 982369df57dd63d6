"""Summarizes target/bench.log (written by `make bench`): fastest time of each side, and the ratio."""
import re, sys

best = {}
for line in open(sys.argv[1] if len(sys.argv) > 1 else "target/bench.log"):
    m = re.match(r"(featdiv|pytorch eager) (mlp epoch|wrn step).*?: min ([0-9.]+) s", line)
    if m:
        key = (m.group(2), m.group(1))
        best[key] = min(best.get(key, float("inf")), float(m.group(3)))
for what in ("mlp epoch", "wrn step"):
    f, p = best.get((what, "featdiv")), best.get((what, "pytorch eager"))
    if f and p:
        print(f"fastest {what}: featdiv {f:.3f} s, pytorch eager {p:.3f} s: pytorch/featdiv = {p / f:.2f}")
