"""PyTorch eager reference for `featdiv bench`: one epoch of the 784-256-10 MLP on Fashion-MNIST
(shuffled batches of 128, SGD lr 0.05 momentum 0.9, then test accuracy), on the same libtorch.
Usage: .venv/bin/python bench/mlp_epoch.py [data_dir] [threads] [repeats]"""
import gzip, struct, sys, time
import warnings
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")  # numpy is not needed here
import torch

def idx(path):
    raw = gzip.open(path).read()
    rank = raw[3]
    dims = struct.unpack(">" + "I" * rank, raw[4:4 + 4 * rank])
    return torch.frombuffer(bytearray(raw[4 + 4 * rank:]), dtype=torch.uint8).view(*dims)

data = sys.argv[1] if len(sys.argv) > 1 else "data/fashion-mnist"
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
torch.set_num_threads(threads)
norm = lambda x: (x.float().view(-1, 1, 28, 28) / 255.0 - 0.2860) / 0.3530
xtr, ytr = norm(idx(f"{data}/train-images-idx3-ubyte.gz")), idx(f"{data}/train-labels-idx1-ubyte.gz").long()
xte, yte = norm(idx(f"{data}/t10k-images-idx3-ubyte.gz")), idx(f"{data}/t10k-labels-idx1-ubyte.gz").long()

times = []
for seed in range(repeats):
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    w1 = (torch.randn(256, 784) * (2 / 784) ** 0.5).requires_grad_()
    b1 = torch.zeros(256, requires_grad=True)
    w2 = (torch.randn(10, 256) * (1 / 256) ** 0.5).requires_grad_()
    b2 = torch.zeros(10, requires_grad=True)
    params = [w1, b1, w2, b2]
    opt = torch.optim.SGD(params, lr=0.05, momentum=0.9)
    model = lambda x: torch.nn.functional.linear(torch.relu(torch.nn.functional.linear(x.flatten(1), w1, b1)), w2, b2)
    order = torch.randperm(len(ytr))
    for start in range(0, len(ytr), 128):
        i = order[start:start + 128]
        loss = torch.nn.functional.cross_entropy(model(xtr[i]), ytr[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()
    with torch.no_grad():
        acc = sum((model(xte[s:s + 1000]).argmax(1) == yte[s:s + 1000]).sum().item() for s in range(0, len(yte), 1000)) / len(yte)
    times.append(time.perf_counter() - t0)
times.sort()
print(f"pytorch eager mlp epoch ({threads} threads, torch {torch.__version__}): min {times[0]:.3f} s, median {times[len(times) // 2]:.3f} s over {repeats}: {[round(t, 3) for t in times]} (acc {acc:.4f})")
