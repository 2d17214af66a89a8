#!/usr/bin/python3
"""The PyTorch-eager peer of `vlprompt bench`: the same computations at the same shapes, with
random weights, timed the same way (warm-up, then the median of --iters runs). Run by
tools/bench_vs_pytorch.sh with Debian's python3-torch, which links the same libtorch and BLAS.

Architecture: the OpenAI-layout CLIP in tests/fixtures/clip_reference.py (nn.MultiheadAttention,
QuickGELU, pre-LN blocks), configured from models/configs/<config>.yaml.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
from clip_reference import CLIP  # noqa: E402


def print_json(out, path):
    """Prints `out` and, given a path, writes it there atomically (temp file + rename)."""
    text = json.dumps(out, indent=2)
    print(text)
    if path:
        with open(path + ".tmp", "w") as f:
            f.write(text + "\n")
        os.replace(path + ".tmp", path)


def median_seconds(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(max(1, iters)):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def build(config):
    v, t = config["vision"], config["text"]
    layers = v["layers"]
    model = CLIP(config["embed_dim"], v["image_resolution"], layers, v["width"],
                 v.get("patch_size", 0), t["context_length"], t["vocab_size"], t["width"],
                 t["heads"], t["layers"])
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.02)
        p.requires_grad_(False)
    return model.eval()


def loaded_blas():
    with open("/proc/self/maps") as maps:
        libs = {line.split()[-1] for line in maps if "blas" in line and line.strip().endswith(".so.3")
                or "libopenblas" in line}
    return sorted(os.path.realpath(p) for p in libs if p.startswith("/"))


def text_forward_backward(model, eot_positions, length, context, warmup, iters):
    """CoOp's text side: prompts whose embeddings carry gradients, run over `length` tokens,
    pooled at the end-of-text token, summed, backward."""
    n = len(eot_positions)
    ids = torch.randint(1, 49000, (n, context))
    for row, eot in enumerate(eot_positions):
        ids[row, eot] = 49407
        ids[row, eot + 1:] = 0
    ids = ids[:, :length]
    base = model.token_embedding(ids).detach()
    pos = model.positional_embedding[:length]
    mask = torch.full((length, length), float("-inf")).triu(1)
    for block in model.transformer.resblocks:
        block.attn_mask = mask

    def step():
        x = base.clone().requires_grad_(True)
        h = model.transformer((x + pos).permute(1, 0, 2)).permute(1, 0, 2)
        h = model.ln_final(h)
        feats = h[torch.arange(n), torch.tensor(eot_positions)] @ model.text_projection
        feats.sum().backward()

    return median_seconds(step, warmup, iters)


def vpt_step(visual, pixels, n_ctx, depth, warmup, iters):
    """Deep VPT on the image tower: n_ctx prompts after the class token, replaced before each
    layer < depth by that layer's own; forward alone (no grad) and forward+backward to the
    prompts (the frozen weights take no gradient)."""
    width = visual.class_embedding.shape[0]
    prompts = (torch.randn(depth, n_ctx, width) * 0.02).requires_grad_(True)
    n = pixels.shape[0]

    def forward():
        x = visual.conv1(pixels).flatten(2).transpose(1, 2)
        cls = visual.class_embedding.reshape(1, 1, -1).expand(n, 1, width)
        x = torch.cat([cls, x], dim=1) + visual.positional_embedding
        x = torch.cat([x[:, :1], prompts[0].expand(n, -1, -1), x[:, 1:]], dim=1)
        x = visual.ln_pre(x).permute(1, 0, 2)
        for layer, block in enumerate(visual.transformer.resblocks):
            if 0 < layer < depth:
                x = torch.cat([x[:1], prompts[layer].unsqueeze(1).expand(-1, n, -1),
                               x[1 + n_ctx:]], dim=0)
            x = block(x)
        return visual.ln_post(x.permute(1, 0, 2)[:, 0]) @ visual.proj

    def train():
        prompts.grad = None
        forward().sum().backward()

    with torch.no_grad():
        fwd = median_seconds(forward, warmup, iters)
    return {"forward_no_grad": fwd, "forward_backward_to_prompts": median_seconds(train, warmup, iters)}


def cocoop_loop_step(model, batch, classes, n_ctx, eot, warmup, iters):
    """The official CoCoOp training step (KaiyangZhou/CoOp trainers/cocoop.py, CustomCLIP.forward):
    per image, ctx + meta_net(f), its C prompts of 77 tokens through the text encoder, its logits;
    the batch's cross-entropy back to ctx and the meta-net. Image features are given (the image
    tower is frozen and outside the loop), as in `vlprompt bench cocoop-step`."""
    embed = model.text_projection.shape[1]
    width = model.ln_final.weight.shape[0]
    context = model.positional_embedding.shape[0]
    ctx = (torch.randn(n_ctx, width) * 0.02).requires_grad_(True)
    meta = torch.nn.Sequential(torch.nn.Linear(embed, max(1, embed // 16)), torch.nn.ReLU(),
                               torch.nn.Linear(max(1, embed // 16), width))
    ids = torch.randint(1, 49000, (classes, context))
    ids[:, eot] = 49407
    ids[:, eot + 1:] = 0
    embedded = model.token_embedding(ids).detach()
    prefix, suffix = embedded[:, :1], embedded[:, 1 + n_ctx:]
    mask = torch.full((context, context), float("-inf")).triu(1)
    for block in model.transformer.resblocks:
        block.attn_mask = mask
    feats = torch.randn(batch, embed)
    labels = torch.randint(0, classes, (batch,))
    scale = model.logit_scale.exp()

    def encode_text(prompts):
        h = model.transformer((prompts + model.positional_embedding).permute(1, 0, 2))
        h = model.ln_final(h.permute(1, 0, 2))
        return h[torch.arange(classes), ids.argmax(-1)] @ model.text_projection

    def step():
        ctx.grad = None
        meta.zero_grad()
        f = feats / feats.norm(dim=-1, keepdim=True)
        bias = meta(f)
        rows = []
        for i in range(batch):
            c = (ctx + bias[i].unsqueeze(0)).unsqueeze(0).expand(classes, -1, -1)
            t = encode_text(torch.cat([prefix, c, suffix], dim=1))
            t = t / t.norm(dim=-1, keepdim=True)
            rows.append(scale * f[i] @ t.t())
        torch.nn.functional.cross_entropy(torch.stack(rows), labels).backward()

    return median_seconds(step, warmup, iters)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="ViT-B-16")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--eot-positions", required=True,
                    help="comma-separated end-of-text positions of the text prompts (from vlprompt)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="intra-op threads (Debian's torch starts with 1; vlprompt uses all cores)")
    ap.add_argument("--vpt-batch", type=int, default=0,
                    help="also time deep VPT (8 tokens, all layers) at this batch")
    ap.add_argument("--cocoop-batch", type=int, default=0,
                    help="also time the official CoCoOp per-image loop at this batch")
    ap.add_argument("--cocoop-classes", default="10",
                    help="comma-separated class counts for the CoCoOp loop")
    ap.add_argument("--out")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with open(os.path.join(ROOT, "models", "configs", a.config + ".yaml")) as f:
        config = yaml.safe_load(f)
    model = build(config)
    res = config["vision"]["image_resolution"]
    pixels = torch.randn(a.batch, 3, res, res)
    with torch.no_grad():
        image_s = median_seconds(lambda: model.encode_image(pixels), a.warmup, a.iters)
    eots = [int(x) for x in a.eot_positions.split(",")]
    context = config["text"]["context_length"]
    trunc_s = text_forward_backward(model, eots, max(eots) + 1, context, a.warmup, a.iters)
    full_s = text_forward_backward(model, eots, context, context, a.warmup, a.iters)
    out = {"peer": "pytorch-eager", "torch": torch.__version__, "threads": torch.get_num_threads(),
           "blas_libraries": loaded_blas(), "config": a.config,
           "image_tower": {"batch": a.batch, "seconds_per_batch": image_s,
                           "images_per_s": a.batch / image_s},
           "text_forward_backward": {"prompts": len(eots), "tokens_truncated": max(eots) + 1,
                                     "seconds_truncated": trunc_s, "seconds_full_77": full_s}}
    if a.vpt_batch:
        vpt_pixels = torch.randn(a.vpt_batch, 3, res, res)
        out["vpt_step"] = dict(batch=a.vpt_batch, **vpt_step(
            model.visual, vpt_pixels, 8, config["vision"]["layers"], a.warmup, a.iters))
    if a.cocoop_batch:
        out["cocoop_loop"] = []
        for classes in [int(c) for c in a.cocoop_classes.split(",")]:
            sec = cocoop_loop_step(model, a.cocoop_batch, classes, 4, 9, a.warmup, a.iters)
            out["cocoop_loop"].append({"classes": classes, "batch": a.cocoop_batch,
                                       "seconds_per_step": sec,
                                       "seconds_per_image": sec / a.cocoop_batch})
    print_json(out, a.out)


if __name__ == "__main__":
    main()
