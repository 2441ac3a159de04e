#!/usr/bin/env python3
"""PyTorch reference for the benchmark workloads A, B, C of bench/workloads.ts (same shapes, same parameter counts,
same FLOP rule: 2 x MAC of matmuls and convs, training = 3 x forward).

  /usr/bin/python3 bench/torch_reference.py --workload A --threads 1 [--batch 64 --steps 20 --warmup 3]
      prints one JSON row: {"workload", "backend": "torch<ver>-t<threads>", "msPerStep" (median), "msMin", ...}
  /usr/bin/python3 bench/torch_reference.py            every workload at 1 and 2 threads, one child process each

Threads are set explicitly (torch.set_num_threads; Debian's torch defaults to 1 thread here), and its BLAS pool
(OpenBLAS: OPENBLAS_NUM_THREADS, OMP_NUM_THREADS) must match, which only the environment can set: torch_env()
gives the environment a child run should get. It also keeps glibc from returning freed large blocks to the OS
(MALLOC_MMAP_THRESHOLD_/TRIM_THRESHOLD_/TOP_PAD_): otherwise every step page-faults its ~64 MB logits anew, which on
this VM made workload B 2-3x slower (1.6 s vs 0.56 s per step at 1 thread). Needs an optimised BLAS behind
/usr/lib/x86_64-linux-gnu/libblas.so.3 (Debian: libopenblas0-pthread; with only the reference libblas3, Linear
layers run ~10x slower). Data are synthetic (timing only); the optimiser is Adam, lr 1e-3.
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time


def torch_env(threads, base=None):
    """Environment for a child process running torch with `threads` threads (see the module doc)."""
    env = dict(os.environ if base is None else base)
    env.update({"OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
                "MALLOC_MMAP_THRESHOLD_": "4294967296", "MALLOC_TRIM_THRESHOLD_": "4294967296", "MALLOC_TOP_PAD_": "536870912"})
    return env


def build(workload, batch, vocab):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(0)

    if workload == "A":
        class Res(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.n1, self.c1 = nn.GroupNorm(8, c, eps=1e-6), nn.Conv2d(c, c, 3, padding=1)
                self.n2, self.c2 = nn.GroupNorm(8, c, eps=1e-6), nn.Conv2d(c, c, 3, padding=1)

            def forward(self, x):
                h = self.c1(F.silu(self.n1(x)))
                return x + self.c2(F.silu(self.n2(h)))

        class STERound(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return torch.round(x)

            @staticmethod
            def backward(ctx, g):
                return g

        L, eps = 8, 1e-3
        half_l = (L - 1) * (1 + eps) / 2
        offset = 0.5
        shift = math.atanh(offset / half_l)

        class AE(nn.Module):
            def __init__(self):
                super().__init__()
                self.enc = nn.Sequential(
                    nn.Conv2d(1, 32, 3, padding=1), nn.SiLU(),
                    nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.SiLU(),
                    nn.Conv2d(64, 64, 3, stride=2, padding=1),
                    Res(64), Res(64), nn.GroupNorm(8, 64, eps=1e-6), nn.SiLU(), nn.Conv2d(64, 4, 1))
                self.dec = nn.Sequential(
                    nn.Conv2d(4, 64, 3, padding=1), Res(64), Res(64),
                    nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(64, 64, 3, padding=1), nn.SiLU(),
                    nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(64, 32, 3, padding=1), nn.SiLU(),
                    nn.Conv2d(32, 1, 3, padding=1))

            def forward(self, x):
                z = self.enc(x)
                v = torch.tanh(z + shift) * half_l - offset
                return self.dec(STERound.apply(v) / (L // 2))

        model = AE()
        x = torch.rand(batch, 1, 32, 32, generator=g) * 2 - 1

        def loss_fn():
            return (model(x) - x).abs().mean()

        units, macs = batch, 55017472
        return model, loss_fn, units, "images", macs * batch

    D, H, depth = 128, 4, 4

    class Block(nn.Module):
        def __init__(self, causal, ada):
            super().__init__()
            self.causal, self.ada = causal, ada
            self.n1 = nn.LayerNorm(D, elementwise_affine=not ada, eps=1e-6 if ada else 1e-5)
            self.n2 = nn.LayerNorm(D, elementwise_affine=not ada, eps=1e-6 if ada else 1e-5)
            self.qkv, self.proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
            self.fc1, self.fc2 = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)
            if ada:
                self.mod = nn.Linear(D, 6 * D)
                nn.init.zeros_(self.mod.weight)
                nn.init.zeros_(self.mod.bias)

        def attn(self, h):
            B, T, _ = h.shape
            q, k, v = self.qkv(h).split(D, dim=2)
            q, k, v = (t.view(B, T, H, D // H).transpose(1, 2) for t in (q, k, v))
            s = (q @ k.transpose(-2, -1)) / math.sqrt(D // H)
            if self.causal:
                s = s.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
            o = s.softmax(-1) @ v
            return self.proj(o.transpose(1, 2).reshape(B, T, D))

        def mlp(self, h):
            return self.fc2(F.gelu(self.fc1(h), approximate="tanh"))

        def forward(self, x, c=None):
            if not self.ada:
                x = x + self.attn(self.n1(x))
                return x + self.mlp(self.n2(x))
            s1, a1, g1, s2, a2, g2 = self.mod(F.silu(c)).unsqueeze(1).chunk(6, dim=2)
            x = x + g1 * self.attn(self.n1(x) * (1 + a1) + s1)
            return x + g2 * self.mlp(self.n2(x) * (1 + a2) + s2)

    if workload == "B":
        V, N = vocab, 64

        class GPT(nn.Module):
            def __init__(self):
                super().__init__()
                self.tok, self.cls = nn.Embedding(V, D), nn.Embedding(10, D)
                self.pos = nn.Parameter(torch.randn(1, N + 1, D) * 0.02)
                self.blocks = nn.ModuleList([Block(True, False) for _ in range(depth)])
                self.norm, self.head = nn.LayerNorm(D), nn.Linear(D, V)

            def forward(self, cls, tok):
                x = torch.cat([self.cls(cls).unsqueeze(1), self.tok(tok)], 1) + self.pos
                for b in self.blocks:
                    x = b(x)
                return self.head(self.norm(x)[:, :N])

        model = GPT()
        cls = torch.randint(0, 10, (batch,), generator=g)
        tok = torch.randint(0, V, (batch, N), generator=g)

        def loss_fn():
            return F.cross_entropy(model(cls, tok).reshape(-1, V), tok.reshape(-1))

        T = N + 1
        macs = depth * (T * D * 3 * D + T * D * D + 2 * T * T * D + 2 * T * D * 4 * D) + N * D * V
        return model, loss_fn, batch * N, "tokens", macs * batch

    if workload == "C":
        N, C, Fq = 64, 4, 128

        class DiT(nn.Module):
            def __init__(self):
                super().__init__()
                self.patch = nn.Linear(C, D)
                self.pos = nn.Parameter(torch.randn(1, N, D) * 0.02)
                self.t1, self.t2 = nn.Linear(Fq, D), nn.Linear(D, D)
                self.cls = nn.Embedding(11, D)
                self.blocks = nn.ModuleList([Block(False, True) for _ in range(depth)])
                self.fmod, self.out = nn.Linear(D, 2 * D), nn.Linear(D, C)
                self.fnorm = nn.LayerNorm(D, elementwise_affine=False, eps=1e-6)
                for m in (self.fmod, self.out):
                    nn.init.zeros_(m.weight)
                    nn.init.zeros_(m.bias)
                half = Fq // 2
                self.register_buffer("freqs", torch.exp(-math.log(10000) * torch.arange(half) / half))

            def forward(self, x, t, y):
                B = x.shape[0]
                h = self.patch(x.reshape(B, N, C)) + self.pos
                a = (t * 1000)[:, None] * self.freqs[None]
                c = self.t2(F.silu(self.t1(torch.cat([a.cos(), a.sin()], 1)))) + self.cls(y)
                for b in self.blocks:
                    h = b(h, c)
                shift, scale = self.fmod(F.silu(c)).unsqueeze(1).chunk(2, dim=2)
                return self.out(self.fnorm(h) * (1 + scale) + shift).reshape(B, 8, 8, C)

        model = DiT()
        x1 = torch.randn(batch, 8, 8, C, generator=g)
        x0 = torch.randn(batch, 8, 8, C, generator=g)
        t = torch.sigmoid(torch.randn(batch, generator=g))
        y = torch.randint(0, 10, (batch,), generator=g)
        xt = (1 - t[:, None, None, None]) * x0 + t[:, None, None, None] * x1

        def loss_fn():
            return ((model(xt, t, y) - (x1 - x0)) ** 2).mean()

        macs = depth * (N * D * 3 * D + N * D * D + 2 * N * N * D + 2 * N * D * 4 * D + D * 6 * D) + N * C * D + Fq * D + D * D + D * 2 * D + N * D * C
        return model, loss_fn, batch, "latents", macs * batch

    raise SystemExit(f"unknown workload {workload!r}; expected A, B or C")


def run_one(args):
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model, loss_fn, units, unit, macs = build(args.workload, args.batch, args.vocab)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    times, cpu, losses = [], [], []
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        c0 = time.process_time()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        lv = loss.item()
        dt = (time.perf_counter() - t0) * 1000
        if i >= args.warmup:
            times.append(dt)
            cpu.append((time.process_time() - c0) * 1000)
        losses.append(lv)
    times.sort()
    cpu.sort()
    med = times[len(times) // 2] if len(times) % 2 else 0.5 * (times[len(times) // 2 - 1] + times[len(times) // 2])
    flops = 3 * 2 * macs
    params = sum(p.numel() for p in model.parameters())
    return {
        "workload": args.workload,
        "backend": f"torch{torch.__version__.split('+')[0]}-t{args.threads}",
        "threads": args.threads,
        "batch": args.batch,
        "params": params,
        "msPerStep": med,
        "msMin": times[0],
        "cpuMsPerStep": cpu[len(cpu) // 2],
        "stepsTimed": len(times),
        "blasThreads": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
        "unitsPerSec": units / (med / 1000),
        "unit": unit,
        "gflopPerStep": flops / 1e9,
        "gflops": flops / 1e9 / (med / 1000),
        "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "lossFirst": losses[0],
        "lossLast": losses[-1],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", choices=["A", "B", "C"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--vocab", type=int, default=4096)
    args = ap.parse_args()
    if args.workload:
        print(json.dumps(run_one(args)), flush=True)
        return
    for w in ["A", "B", "C"]:
        for th in [1, 2]:
            cmd = [sys.executable, os.path.abspath(__file__), "--workload", w, "--threads", str(th), "--batch", str(args.batch),
                   "--steps", str(args.steps), "--warmup", str(args.warmup), "--vocab", str(args.vocab)]
            subprocess.run(cmd, check=True, env=torch_env(th))


if __name__ == "__main__":
    main()
