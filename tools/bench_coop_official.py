#!/ usr / bin / python3
"""The official CoOp training step on cached image features, in PyTorch eager: the peer of
`vlprompt bench coop-step`. The algorithm as KaiyangZhou/CoOp's trainers/coop.py runs it (read
from its source, not imported: it needs Dassl and a GPU set-up):

  PromptLearner.forward   prompts = cat([token_prefix, ctx.expand(n_cls, -1, -1), token_suffix], 1)
  TextEncoder.forward     all 77 positions through the transformer (causal attn_mask), ln_final,
                          the end-of-text token (argmax of the ids) @ text_projection
  CustomCLIP.forward      logit_scale.exp() * normalize(image_features) @ normalize(text).T
  CoOp.forward_backward   cross-entropy; zero_grad, backward, SGD step (lr 0.002, momentum 0.9,
                          weight decay 5e-4: configs/trainers/CoOp and Dassl's optimizer)

with the image features given instead of the image encoder (vlprompt's cached-features step).
fp32 on the CPU (the official fp16 default needs CUDA). Random weights at the architecture's shapes
and random class-token ids whose end-of-text positions are vlprompt's, so both sides run the same
sequence lengths.
"""
import argparse
import os
import sys

import torch
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_vs_pytorch import build, loaded_blas, median_seconds, print_json  # noqa: E402


def coop_step(model, eot_positions, batch, n_ctx, warmup, iters):
    width = model.ln_final.weight.shape[0]
    context = model.positional_embedding.shape[0]
    embed = model.text_projection.shape[1]
    n_cls = len(eot_positions)
    ids = torch.randint(1, 49000, (n_cls, context))
    for row, eot in enumerate(eot_positions):
        ids[row, eot] = 49407
        ids[row, eot + 1:] = 0
    with torch.no_grad():
        embedding = model.token_embedding(ids)
    token_prefix, token_suffix = embedding[:, :1], embedding[:, 1 + n_ctx:]
    ctx = torch.nn.Parameter(torch.randn(n_ctx, width) * 0.02)
    mask = torch.full((context, context), float("-inf")).triu(1)
    for block in model.transformer.resblocks:
        block.attn_mask = mask
    optimizer = torch.optim.SGD([ctx], lr=0.002, momentum=0.9, weight_decay=5e-4)
    image_features = torch.randn(batch, embed)
    labels = torch.randint(0, n_cls, (batch,))
    eot = ids.argmax(dim=-1)

    def step():
        prompts = torch.cat([token_prefix, ctx.unsqueeze(0).expand(n_cls, -1, -1), token_suffix], 1)
        x = (prompts + model.positional_embedding).permute(1, 0, 2)
        x = model.transformer(x).permute(1, 0, 2)
        x = model.ln_final(x)
        text = x[torch.arange(n_cls), eot] @ model.text_projection
        image = image_features / image_features.norm(dim=-1, keepdim=True)
        text = text / text.norm(dim=-1, keepdim=True)
        logits = model.logit_scale.exp() * image @ text.t()
        loss = torch.nn.functional.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return median_seconds(step, warmup, iters)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="ViT-B-16")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--eot-positions", required=True,
                    help="comma-separated end-of-text positions of the class prompts (vlprompt's)")
    ap.add_argument("--out")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models",
                           "configs", a.config + ".yaml")) as f:
        config = yaml.safe_load(f)
    model = build(config)
    eots = [int(x) for x in a.eot_positions.split(",")]
    seconds = coop_step(model, eots, a.batch, 16, a.warmup, a.iters)
    out = {"peer": "official CoOp step (trainers/coop.py algorithm), PyTorch eager",
           "torch": torch.__version__, "threads": torch.get_num_threads(),
           "blas_libraries": loaded_blas(), "config": a.config, "classes": len(eots),
           "batch": a.batch, "n_ctx": 16, "tokens": config["text"]["context_length"],
           "seconds_per_step": seconds}
    print_json(out, a.out)


if __name__ == "__main__":
    main()
