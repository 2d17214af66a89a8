"""PyTorch eager peer of `vlprompt bench lm-step`: the same LLaMA shape, batch, sequence and
deltas, written the way a PyTorch user would (nn.Module, HF's formulas: RMSNorm, rotate-half RoPE,
GQA, SwiGLU; PEFT's layouts: virtual tokens prepended to the embeddings, prefixes as past keys and
values). Prints one JSON object with the fields vlprompt's bench prints.

    /usr/bin/python3 tools/bench_lm_vs_pytorch.py --threads 2 [--batch 8 --seq 128 --iters 3]
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F


class Layer(torch.nn.Module):
    def __init__(self, h, inter, heads, kv):
        super().__init__()
        self.heads, self.kv, self.d = heads, kv, h // heads
        self.q = torch.nn.Linear(h, h, bias=False)
        self.k = torch.nn.Linear(h, kv * self.d, bias=False)
        self.v = torch.nn.Linear(h, kv * self.d, bias=False)
        self.o = torch.nn.Linear(h, h, bias=False)
        self.gate = torch.nn.Linear(h, inter, bias=False)
        self.up = torch.nn.Linear(h, inter, bias=False)
        self.down = torch.nn.Linear(inter, h, bias=False)
        self.n1 = torch.nn.Parameter(torch.ones(h))
        self.n2 = torch.nn.Parameter(torch.ones(h))

    def forward(self, x, cos, sin, past=None):
        b, l, _ = x.shape
        y = rms(x, self.n1)
        q = self.q(y).view(b, l, self.heads, self.d).transpose(1, 2)
        k = self.k(y).view(b, l, self.kv, self.d).transpose(1, 2)
        v = self.v(y).view(b, l, self.kv, self.d).transpose(1, 2)
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        p = 0
        if past is not None:
            p = past[0].shape[2]
            k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
        new = (k, v)
        rep = self.heads // self.kv
        k = k.repeat_interleave(rep, 1)
        v = v.repeat_interleave(rep, 1)
        s = q @ k.transpose(2, 3) / math.sqrt(self.d)
        if l > 1:
            mask = torch.ones(l, p + l, dtype=torch.bool).tril(p)
            s = s.masked_fill(~mask, float("-inf"))
        a = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, l, -1)
        x = x + self.o(a)
        y = rms(x, self.n2)
        return x + self.down(F.silu(self.gate(y)) * self.up(y)), new


def rms(x, w, eps=1e-5):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rot(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


class Llama(torch.nn.Module):
    def __init__(self, h=768, inter=2048, layers=12, heads=12, kv=4, vocab=32000):
        super().__init__()
        self.d = h // heads
        self.embed = torch.nn.Embedding(vocab, h)
        self.layers = torch.nn.ModuleList(Layer(h, inter, heads, kv) for _ in range(layers))
        self.norm = torch.nn.Parameter(torch.ones(h))
        self.head = torch.nn.Linear(h, vocab, bias=False)

    def hidden(self, embeds, past=None, start=0):
        l = embeds.shape[1]
        p = 0 if past is None else past[0][0].shape[2]
        pos = torch.arange(start + p, start + p + l).float()
        inv = 1.0 / (10000 ** (torch.arange(0, self.d, 2).float() / self.d))
        f = pos[:, None] * inv[None]
        emb = torch.cat([f, f], -1)
        cos, sin = emb.cos(), emb.sin()
        x, cache = embeds, []
        for i, layer in enumerate(self.layers):
            x, kv = layer(x, cos, sin, None if past is None else past[i])
            cache.append(kv)
        return rms(x, self.norm), cache


def loss_of(model, ids, prompt=None, past=None):
    e = model.embed(ids)
    n = 0
    if prompt is not None:
        n = prompt.shape[0]
        e = torch.cat([prompt[None].expand(ids.shape[0], -1, -1), e], 1)
    h, _ = model.hidden(e, past)
    logits = model.head(h[:, n:n + ids.shape[1] - 1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))


def peak_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def timed(fn, warmup, iters, batch, seq):
    reset_peak()
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    s = statistics.median(runs)
    return {"seconds_per_step": s, "tokens_per_s": batch * seq / s, "peak_rss_mib": peak_mib()}


def generate(model, prompt, new, cache):
    with torch.no_grad():
        ids = list(prompt)
        past = None
        for step in range(new):
            if cache:
                feed = torch.tensor([ids if step == 0 else ids[-1:]])
                h, past = model.hidden(model.embed(feed), past)
            else:
                h, _ = model.hidden(model.embed(torch.tensor([ids])))
            ids.append(int(model.head(h[0, -1]).argmax()))
    return ids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--n-virtual", type=int, default=20)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Llama()
    for p in model.parameters():
        p.requires_grad_(False)
    ids = torch.randint(3, 32000, (a.batch, a.seq))
    out = {"threads": a.threads, "batch": a.batch, "seq": a.seq, "torch": torch.__version__}
    with torch.no_grad():
        out["forward_only"] = timed(lambda: loss_of(model, ids), a.warmup, a.iters, a.batch, a.seq)
    soft = torch.nn.Parameter(torch.randn(a.n_virtual, 768))

    def prompt_step():
        soft.grad = None
        loss_of(model, ids, prompt=soft).backward()

    out["prompt_tuning"] = timed(prompt_step, a.warmup, a.iters, a.batch, a.seq)
    # PEFT's prefix layout: [n, layers * 2 * kv_width] -> per layer (key, value) [B, kv, n, d].
    prefix = torch.nn.Parameter(torch.randn(a.n_virtual, 12 * 2 * 4 * 64) * 0.02)

    def prefix_step():
        prefix.grad = None
        pkv = prefix[None].expand(a.batch, -1, -1).view(a.batch, a.n_virtual, 24, 4, 64)
        pkv = pkv.permute(2, 0, 3, 1, 4).split(2)
        loss_of(model, ids, past=[(t[0], t[1]) for t in pkv]).backward()

    out["prefix_tuning"] = timed(prefix_step, a.warmup, a.iters, a.batch, a.seq)
    for p in model.parameters():
        p.requires_grad_(True)

    def full_step():
        for p in model.parameters():
            p.grad = None
        loss_of(model, ids).backward()

    out["full_finetune"] = timed(full_step, a.warmup, a.iters, a.batch, a.seq)
    for p in model.parameters():
        p.requires_grad_(False)
        p.grad = None
    prompt = [3 + (i * 7919) % 30000 for i in range(32)]
    gen = {}
    for cache in (True, False):
        t = timed(lambda: generate(model, prompt, 32, cache), a.warmup, a.iters, 1, 32)
        gen["tokens_per_s_cache" if cache else "tokens_per_s_no_cache"] = 32 / t["seconds_per_step"]
    out["generation"] = gen
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
