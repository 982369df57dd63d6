"""Summarizes target/bench.log (written by `make bench`): the fastest time of each side for each
setting, featdiv against PyTorch eager with the same settings, bf16 + channels_last against fp32,
and featdiv's rate as a fraction of this machine's matrix-product peak measured in the same run."""
import re, sys

best, rate, peak = {}, {}, {}
for line in open(sys.argv[1] if len(sys.argv) > 1 else "target/bench.log"):
    m = re.match(r"gemm peak \(\d+x\d+, (\w+), .*?\): ([0-9.]+) GFLOP/s", line)
    if m:
        peak[m.group(1)] = max(peak.get(m.group(1), 0.0), float(m.group(2)))
        continue
    m = re.match(r"(featdiv|pytorch eager) (mlp epoch|wrn step) \((.*?)\): min ([0-9.]+) s", line)
    if not m:
        continue
    side, what, settings, secs = m.group(1), m.group(2), m.group(3), float(m.group(4))
    form = re.search(r"(fp32|bf16|tf32) (contiguous|channels-last)", settings)
    key = (what, form.group(0) if form else "fp32 contiguous")
    best[key + (side,)] = min(best.get(key + (side,), float("inf")), secs)
    g = re.search(r"([0-9.]+) GFLOP/s", line)
    if side == "featdiv" and g:
        rate[key] = max(rate.get(key, 0.0), float(g.group(1)))

for (what, form) in sorted({k[:2] for k in best}):
    f, p = best.get((what, form, "featdiv")), best.get((what, form, "pytorch eager"))
    line = f"{what}, {form}: featdiv {f:.4f} s" if f else f"{what}, {form}:"
    if p:
        line += f", pytorch eager {p:.4f} s"
    if f and p:
        line += f": pytorch/featdiv = {p / f:.2f}"
    r, top = rate.get((what, form)), peak.get(form.split()[0])
    if r and top:
        line += f"; {r:.0f} GFLOP/s = {r / top:.0%} of the {form.split()[0]} GEMM peak ({top:.0f})"
    print(line)
f32, b16 = best.get(("wrn step", "fp32 contiguous", "featdiv")), best.get(("wrn step", "bf16 channels-last", "featdiv"))
if f32 and b16:
    print(f"featdiv wrn step, bf16 + channels-last against fp32 contiguous: x{f32 / b16:.2f}")
