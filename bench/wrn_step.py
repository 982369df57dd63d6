"""PyTorch eager reference for `featdiv bench --model wrn`: training steps of ConstNet WRN-d-k
(the paper's skeleton: pre-activation, one 3x3 conv per block, shortcut fed ReLU(BN(x))) on one
random 3x32x32 batch of 128, SGD 0.03 / 0.9 / 5e-4, on the same libtorch, at a precision
(fp32, bf16 autocast, tf32) and memory format (contiguous, channels-last).
Usage: .venv/bin/python bench/wrn_step.py [threads] [steps] [depth] [widen] [precision]
       [memory-format] [device]"""
import sys, time
import warnings
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")  # numpy is not needed here
import torch
import torch.nn as nn
import torch.nn.functional as F

arg = lambda i, default: sys.argv[i] if len(sys.argv) > i else default
threads, steps = int(arg(1, 2)), int(arg(2, 10))
depth, widen = int(arg(3, 16)), int(arg(4, 2))
precision, memory_format, device = arg(5, "fp32"), arg(6, "contiguous"), arg(7, "cpu")
torch.set_num_threads(threads)
if precision == "tf32":
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
fmt = torch.channels_last if memory_format == "channels-last" else torch.contiguous_format

class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn = nn.BatchNorm2d(cin)
        self.conv = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.shortcut = nn.Conv2d(cin, cout, 1, stride, 0, bias=False) if (cin != cout or stride != 1) else None
    def forward(self, x):
        a = F.relu(self.bn(x))
        out = self.conv(a)
        return (self.shortcut(a) if self.shortcut is not None else x) + out

class Wrn(nn.Module):
    def __init__(self, depth=16, k=2, cin=3, classes=10):
        super().__init__()
        n = (depth - 4) // 3
        self.stem = nn.Conv2d(cin, 16, 3, 1, 1, bias=False)
        blocks, c = [], 16
        for width, stride in ((16 * k, 1), (32 * k, 2), (64 * k, 2)):
            for b in range(n):
                blocks.append(Block(c, width, stride if b == 0 else 1))
                c = width
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(c, classes)
        with torch.no_grad():  # ConstNet
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    m.weight.zero_()
            self.stem.weight[:, :, 1, 1] = 1.0 / cin
            for b in blocks:
                if b.shortcut is not None:
                    b.shortcut.weight.fill_(1.0 / b.shortcut.in_channels)
            self.head.weight.zero_(); self.head.bias.zero_()
    def forward(self, x):
        h = self.blocks(self.stem(x))
        return self.head(F.adaptive_avg_pool2d(F.relu(h), 1).flatten(1))

torch.manual_seed(0)
net = Wrn(depth, widen).to(device=device, memory_format=fmt)
opt = torch.optim.SGD(net.parameters(), lr=0.03, momentum=0.9, weight_decay=5e-4)
x = torch.randn(128, 3, 32, 32, device=device).contiguous(memory_format=fmt)
y = torch.randint(10, (128,), device=device)
times = []
for i in range(steps + 3):
    t = time.perf_counter()
    with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=precision == "bf16"):
        loss = F.cross_entropy(net(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    loss.item()
    if i >= 3:
        times.append(time.perf_counter() - t)
times.sort()
print(f"pytorch eager wrn step (ConstNet WRN-{depth}-{widen}, 3x32x32, batch 128, {precision} {memory_format}, {device}, {threads} threads, torch {torch.__version__}): min {times[0]:.4f} s, median {times[len(times) // 2]:.4f} s over {steps}")
