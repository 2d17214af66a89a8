"""PyTorch eager peer of `vlprompt bench lm-step`: the same LLaMA shape, batch, sequence and
deltas, written the way a PyTorch user would (nn.Module, HF's formulas: RMSNorm, rotate-half RoPE,
GQA, SwiGLU; PEFT's layouts: virtual tokens prepended to the embeddings, prefixes as past keys and
values; LoRA, IA3 and BitFit as wrappers around nn.Linear as PEFT builds them, Houlsby adapters
after each sublayer). Prints one JSON object with the fields vlprompt's bench prints.

    /usr/bin/python3 tools/bench_lm_vs_pytorch.py --threads 2 [--batch 8 --seq 128 --iters 3]
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F


class LoraLinear(torch.nn.Module):
    """PEFT's lora.Linear forward: base(x) + lora_B(lora_A(dropout(x))) * scaling."""

    def __init__(self, base, r=8, alpha=8):
        super().__init__()
        self.base, self.scaling = base, alpha / r
        self.lora_A = torch.nn.Linear(base.in_features, r, bias=False)
        self.lora_B = torch.nn.Linear(r, base.out_features, bias=False)
        torch.nn.init.zeros_(self.lora_B.weight)

    def forward(self, x):
        return self.base(x) + self.lora_B(self.lora_A(x)) * self.scaling


class Ia3Linear(torch.nn.Module):
    """PEFT's ia3.Linear forward: base(x * l) on a feed-forward module, base(x) * l elsewhere."""

    def __init__(self, base, feedforward):
        super().__init__()
        self.base, self.ff = base, feedforward
        n = base.in_features if feedforward else base.out_features
        self.ia3_l = torch.nn.Parameter(torch.ones(n))

    def forward(self, x):
        return self.base(x * self.ia3_l) if self.ff else self.base(x) * self.ia3_l


class BiasLinear(torch.nn.Module):
    """BitFit on a bias-free projection: a trainable bias from zero."""

    def __init__(self, base):
        super().__init__()
        self.base = base
        self.bias = torch.nn.Parameter(torch.zeros(base.out_features))

    def forward(self, x):
        return self.base(x) + self.bias


class Adapter(torch.nn.Module):
    """Houlsby's bottleneck: h + up(silu(down(h)))."""

    def __init__(self, h, reduction=16):
        super().__init__()
        self.down = torch.nn.Linear(h, h // reduction)
        self.up = torch.nn.Linear(h // reduction, h)
        torch.nn.init.zeros_(self.up.weight)
        torch.nn.init.zeros_(self.up.bias)

    def forward(self, x):
        return x + self.up(F.silu(self.down(x)))


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
        self.n1_bias = self.n2_bias = None  # BitFit on the norms
        self.ad1 = self.ad2 = None  # Houlsby adapters

    def norm(self, x, w, bias):
        y = rms(x, w)
        return y if bias is None else y + bias

    def forward(self, x, cos, sin, past=None):
        b, l, _ = x.shape
        y = self.norm(x, self.n1, self.n1_bias)
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
        a = self.o(a)
        x = x + (a if self.ad1 is None else self.ad1(a))
        y = self.norm(x, self.n2, self.n2_bias)
        m = self.down(F.silu(self.gate(y)) * self.up(y))
        return x + (m if self.ad2 is None else self.ad2(m)), new


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
        self.norm_bias = None  # BitFit

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
        y = rms(x, self.norm)
        return (y if self.norm_bias is None else y + self.norm_bias), cache


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


PROJ = ("q", "k", "v", "o", "gate", "up", "down")


def attach(model, name):
    """Wraps the layers' modules for one tuner; returns the parameters it trains."""
    h = model.embed.weight.shape[1]
    for layer in model.layers:
        if name == "lora":
            layer.q, layer.v = LoraLinear(layer.q), LoraLinear(layer.v)
        elif name == "ia3":
            layer.k, layer.v = Ia3Linear(layer.k, False), Ia3Linear(layer.v, False)
            layer.down = Ia3Linear(layer.down, True)
        elif name == "adapter":
            layer.ad1, layer.ad2 = Adapter(h), Adapter(h)
        elif name == "bitfit":
            for p in PROJ:
                setattr(layer, p, BiasLinear(getattr(layer, p)))
            layer.n1_bias = torch.nn.Parameter(torch.zeros(h))
            layer.n2_bias = torch.nn.Parameter(torch.zeros(h))
    if name == "bitfit":
        model.norm_bias = torch.nn.Parameter(torch.zeros(h))
    return [p for n, p in model.named_parameters() if p.requires_grad]


def detach(model):
    for layer in model.layers:
        for p in PROJ:
            m = getattr(layer, p)
            if not isinstance(m, torch.nn.Linear):
                setattr(layer, p, m.base)
        layer.ad1 = layer.ad2 = layer.n1_bias = layer.n2_bias = None
    model.norm_bias = None


LABELS = [[311], [412, 5130], [6001, 77, 8123], [90, 91], [1234]]


def rank_classification(model, ids, soft, a):
    """Prompt Tuning's rank classification step as PEFT users run it: B x C rows, each the whole
    prompt followed by one class's label tokens (right-padded), the class score the sum of its
    label tokens' log-probabilities, cross-entropy over the classes."""
    b, seq, c = ids.shape[0], ids.shape[1], len(LABELS)
    m = max(len(l) for l in LABELS)
    rows = torch.zeros(b, c, seq + m, dtype=torch.long)
    rows[:, :, :seq] = ids[:, None]
    for k, label in enumerate(LABELS):
        rows[:, k, seq:seq + len(label)] = torch.tensor(label)
    rows = rows.view(b * c, seq + m)
    n = soft.shape[0]
    targets = torch.arange(b) % c

    def step():
        soft.grad = None
        e = torch.cat([soft[None].expand(b * c, -1, -1), model.embed(rows)], 1)
        h, _ = model.hidden(e)
        scores = []
        for k, label in enumerate(LABELS):
            hk = h.view(b, c, n + seq + m, -1)[:, k, n + seq - 1:n + seq - 1 + len(label)]
            logp = F.log_softmax(model.head(hk), -1)
            scores.append(logp[:, torch.arange(len(label)), torch.tensor(label)].sum(-1))
        F.cross_entropy(torch.stack(scores, 1), targets).backward()

    out = timed(step, a.warmup, a.iters, a.batch, a.seq)
    out["prompt_token_rows"] = b * c
    return out


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
    for name in ("lora", "ia3", "adapter", "bitfit"):
        trained = attach(model, name)

        def tuner_step():
            for p in trained:
                p.grad = None
            loss_of(model, ids).backward()

        out[name] = timed(tuner_step, a.warmup, a.iters, a.batch, a.seq)
        out[name]["trained_parameters"] = sum(p.numel() for p in trained)
        detach(model)
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
    # Last, as in `vlprompt bench lm-step`: its B x C rows leave the allocator holding ~5 GB,
    # which would flatter the steps timed after it (no page faults) and cloud their peaks.
    out["rank_classification"] = rank_classification(model, ids, soft, a)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
