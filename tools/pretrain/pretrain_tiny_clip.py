#!/usr/bin/env python3
"""Contrastive pretraining of the tiny CLIP (models/configs/tiny.yaml) that ships as
models/pretrained/tiny-pretrained.safetensors: a demonstration model, not CLIP.

Data (train splits only; no test image is ever read):
  - Fashion-MNIST train (Debian's dataset-fashion-mnist), minus its last 2,000 images, which are
    held out to monitor zero-shot accuracy during pretraining;
  - the train split of digits-opencv (the catalog's split: seed 1, 25% held out per digit, the
    same shuffle as datasets/digits.cpp), oversampled 4x. digits-sklearn is never seen, so it stays
    a shifted target domain for domain adaptation.
Captions: tools/pretrain/captions.py (varied patterns and synonyms, checked to differ from every
evaluation prompt the project ships; the names are the words people write, not always the
catalog's, see FASHION_NAMES). Loss: CLIP's symmetric contrastive loss with every caption of the
same class counted as a positive (several images of one class share a batch).
Images: Pillow's bicubic resize to 64 px, CLIP's normalisation (what vlprompt's preprocessing
reproduces); half as random resized crops (the views CoOp trains on), half shifted by up to
4 px; horizontal flips for clothing.

Tried and dropped, each measured on Fashion-MNIST test, 16 shots, seed 1:
  - every image captioned with its catalog name: the hand-written prompt scored 82.3 and the
    16-shot linear probe 80.2, nothing left for few-shot learning to add (CoOp 81.5);
  - random vectors inserted where prompts sit (so that random prompt inits are harmless): the
    towers learned to ignore those positions, and CoOp's loss never moved;
  - a share of the captions naming a confusable class instead: the image features lost the
    distinction too (linear probe 76.4 under zero-shot 78.3);
  - OpenAI's embedding init scales (std 0.02 tokens, 0.01 positions): CoOp at the paper's lr
    diverged (36.0 against 64.0 zero-shot), see init_weights.

Run by tools/pretrain_tiny_clip.sh (which tokenizes the captions with `vlprompt tokenize` and
converts the result); Debian's python3-torch: /usr/bin/python3.
"""
import argparse
import gzip
import json
import math
import os
import random
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))
import captions as cap  # noqa: E402
from splits import held_out_indices  # noqa: E402
from clip_reference import CLIP  # noqa: E402  (OpenAI's architecture and state-dict names)
from make_clip_fixtures import write_safetensors  # noqa: E402

MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
STD = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
RES = 64
ARCH = {"name": "tiny-pretrained", "embed_dim": 64,
        "vision": {"type": "vit", "image_resolution": 64, "width": 64, "heads": 1, "layers": 2,
                   "patch_size": 16},
        "text": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 1, "layers": 2}}
MONITOR = 2000  # last Fashion-MNIST train images, held out of pretraining


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def resize(gray):
    """CLIP's preprocessing of a gray image: bicubic resize of the short side, centre crop."""
    img = Image.fromarray(gray, mode="L")
    w, h = img.size
    s = RES / min(w, h)
    img = img.resize((max(RES, round(w * s)), max(RES, round(h * s))), Image.BICUBIC)
    w, h = img.size
    left, top = int(round((w - RES) / 2.0)), int(round((h - RES) / 2.0))
    return np.asarray(img.crop((left, top, left + RES, top + RES)), dtype=np.uint8)


def load_fashion(root):
    images = read_idx(os.path.join(root, "train-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(root, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    return images, labels


def load_digits_train(png):
    sheet = np.asarray(Image.open(png).convert("RGB"))[:, :, 0]
    if sheet.shape != (1000, 2000):
        raise SystemExit("pretrain: %s is %s, expected OpenCV's 2000x1000 digits.png" %
                         (png, sheet.shape))
    images, labels = [], []
    for label in range(10):
        cells = [sheet[r * 20:(r + 1) * 20, c * 20:(c + 1) * 20]
                 for r in range(label * 5, label * 5 + 5) for c in range(100)]
        held = held_out_indices(len(cells), 0.25, 1, label)
        for i, cell in enumerate(cells):
            if i not in held:
                images.append(cell)
                labels.append(label)
    return images, np.array(labels, dtype=np.int64)


def init_weights(model):
    """CLIP's initialisation scheme (OpenAI's initialize_parameters), for the ViT variant."""
    with torch.no_grad():
        # 5x and 10x OpenAI's scales: a context vector initialised as CoOp does (std 0.02) is
        # then quiet beside words and positions, as in CLIP. At OpenAI's scales the first layer
        # norm of this 64-wide tower amplified the context's gradients so much that CoOp at the
        # paper's lr (0.002) diverged (test top-1 36.0 against 64.0 zero-shot; 70.5 at lr 5e-4).
        torch.nn.init.normal_(model.token_embedding.weight, std=0.1)
        torch.nn.init.normal_(model.positional_embedding, std=0.1)
        for tower in (model.transformer, model.visual.transformer):
            width = tower.resblocks[0].attn.embed_dim
            layers = len(tower.resblocks)
            proj_std = width ** -0.5 * (2 * layers) ** -0.5
            for block in tower.resblocks:
                torch.nn.init.normal_(block.attn.in_proj_weight, std=width ** -0.5)
                torch.nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
                torch.nn.init.normal_(block.mlp.c_fc.weight, std=(2 * width) ** -0.5)
                torch.nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
        torch.nn.init.normal_(model.text_projection, std=model.transformer.resblocks[0]
                              .attn.embed_dim ** -0.5)
        v = model.visual
        scale = v.conv1.out_channels ** -0.5
        v.class_embedding.copy_(scale * torch.randn_like(v.class_embedding))
        v.positional_embedding.copy_(scale * torch.randn_like(v.positional_embedding))
        v.proj.copy_(scale * torch.randn_like(v.proj))


def random_resized_crop(img, rng):
    """torchvision's RandomResizedCrop (scale 0.08-1, ratio 3/4-4/3), as CoOp's training views
    are made, so the model knows such views; bicubic back to RES."""
    for _ in range(10):
        area = RES * RES * rng.uniform(0.08, 1.0)
        ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        w, h = int(round(math.sqrt(area * ratio))), int(round(math.sqrt(area / ratio)))
        if 0 < w <= RES and 0 < h <= RES:
            top, left = rng.randint(0, RES - h), rng.randint(0, RES - w)
            crop = img[top:top + h, left:left + w].float()[None, None]
            out = F.interpolate(crop, size=(RES, RES), mode="bicubic", align_corners=False)
            return out[0, 0].round().clamp(0, 255).to(torch.uint8)
    return img


def augment(batch_u8, flip, rng):
    """Half the images as random resized crops, the others shifted by up to 4 px (zero padding:
    both data sets have black backgrounds); clothing also flipped half of the time."""
    n = batch_u8.shape[0]
    padded = F.pad(batch_u8, (4, 4, 4, 4))
    out = torch.empty_like(batch_u8)
    for i in range(n):
        if rng.random() < 0.5:
            img = random_resized_crop(batch_u8[i], rng)
        else:
            dx, dy = rng.randint(0, 8), rng.randint(0, 8)
            img = padded[i, dy:dy + RES, dx:dx + RES]
        out[i] = img.flip(-1) if flip[i] and rng.random() < 0.5 else img
    return out


def to_pixels(batch_u8):
    x = batch_u8.float().div_(255.0).unsqueeze(1).expand(-1, 3, -1, -1)
    return (x - MEAN) / STD


def encode_text(model, ids, vocab):
    """encode_text on ids cut to the batch's longest caption (exact: the tower is causal).
    `vocab` holds the rows of the token embedding the captions use (see CompactVocab)."""
    length = int(ids.argmax(dim=-1).max()) + 1
    ids = ids[:, :length]
    mask = torch.full((length, length), float("-inf")).triu(1)
    for block in model.transformer.resblocks:
        block.attn_mask = mask
    x = vocab(ids) + model.positional_embedding[:length]
    x = model.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
    x = model.ln_final(x)
    return x[torch.arange(x.shape[0]), ids.argmax(dim=-1)] @ model.text_projection


class CompactVocab(torch.nn.Module):
    """The token-embedding rows the captions use, trained in place of the 49,408-row table: Adam
    leaves rows without gradient unchanged anyway, and this skips 3M-element dense updates."""

    def __init__(self, table, used):
        super().__init__()
        self.used = torch.tensor(sorted(used), dtype=torch.long)
        self.index = torch.full((table.shape[0],), -1, dtype=torch.long)
        self.index[self.used] = torch.arange(len(self.used))
        self.rows = torch.nn.Parameter(table.detach()[self.used].clone())

    def forward(self, ids):
        return self.rows[self.index[ids]]

    def write_back(self, table):
        with torch.no_grad():
            table[self.used] = self.rows


def multi_positive_loss(logits, groups):
    """Cross-entropy against a uniform target over every same-group column, both directions."""
    pos = (groups.unsqueeze(0) == groups.unsqueeze(1)).float()
    target = pos / pos.sum(dim=1, keepdim=True)
    return 0.5 * (-(target * F.log_softmax(logits, 1)).sum(1).mean()
                  - (target * F.log_softmax(logits.t(), 1)).sum(1).mean())


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tokens", required=True, help="JSONL from `vlprompt tokenize` of captions")
    p.add_argument("--fashion-root", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--digits", required=True, help="opencv_digits_20x20.png")
    p.add_argument("--out", required=True, help="output .safetensors (OpenAI names)")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="1 (default) made the shipped file: tiny matrices gain little from more")
    args = p.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)

    ids_of = {}
    with open(args.tokens, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            ids_of[row["text"]] = row["ids"]
    n_patterns = cap.check_no_evaluation_prompt(REPO, ids_of.keys())
    print("captions: %d distinct, none equal to any of %d evaluation templates" %
          (len(ids_of), n_patterns), flush=True)

    t0 = time.time()
    f_images, f_labels = load_fashion(args.fashion_root)
    d_images, d_labels = load_digits_train(args.digits)
    fashion = torch.from_numpy(np.stack([resize(im) for im in f_images]))
    digits = torch.from_numpy(np.stack([resize(im) for im in d_images]))
    train_f = torch.arange(len(f_images) - MONITOR)
    # sample pool: (source 0 = fashion / 1 = digits, index)
    pool = [(0, int(i)) for i in train_f] + [(1, i) for i in range(len(d_images))] * 4
    print("data: %d fashion + %d digits (x4) train images, %d held out; %.0fs" %
          (len(train_f), len(d_images), MONITOR, time.time() - t0), flush=True)

    model = CLIP(embed_dim=64, resolution=RES, vision_layers=2, vision_width=64, patch=16,
                 context_length=77, vocab_size=49408, text_width=64, text_heads=1, text_layers=2)
    init_weights(model)
    vocab = CompactVocab(model.token_embedding.weight, {i for ids in ids_of.values() for i in ids})
    model.token_embedding.weight.requires_grad_(False)
    named = [(n, p_) for n, p_ in model.named_parameters() if p_.requires_grad]
    decay = [p_ for n, p_ in named if p_.ndim >= 2 and "embedding" not in n]
    rest = [p_ for n, p_ in named if not (p_.ndim >= 2 and "embedding" not in n)] + [vocab.rows]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": rest, "weight_decay": 0.0}], lr=args.lr,
                            betas=(0.9, 0.98), eps=1e-6)
    warmup = max(1, args.steps // 20)

    def lr_at(step):
        if step < warmup:
            return args.lr * (step + 1) / warmup
        return 0.5 * args.lr * (1 + math.cos(math.pi * (step - warmup) / (args.steps - warmup)))

    order = []
    t0 = time.time()
    for step in range(args.steps):
        if len(order) < args.batch:
            order = pool[:]
            rng.shuffle(order)
        batch, order = order[:args.batch], order[args.batch:]
        imgs, texts, groups, flips = [], [], [], []
        for k, (src, i) in enumerate(batch):
            if src == 0:
                label = int(f_labels[i])
                imgs.append(fashion[i])
                flips.append(True)
                if rng.random() < 0.05:
                    texts.append(rng.choice(cap.NO_CLASS))
                    groups.append(-1 - k)
                else:
                    texts.append(cap.compose(rng, cap.FASHION_NAMES[label], cap.FASHION_PATTERNS,
                                             cap.FASHION_TAILS))
                    groups.append(label)
            else:
                label = int(d_labels[i])
                imgs.append(digits[i])
                flips.append(False)
                texts.append(cap.compose(rng, cap.DIGIT_NAMES[label], cap.DIGIT_PATTERNS,
                                         cap.DIGIT_TAILS))
                groups.append(10 + label)
        pixels = to_pixels(augment(torch.stack(imgs), flips, rng))
        ids = torch.tensor([ids_of[t] for t in texts], dtype=torch.long)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        image = F.normalize(model.encode_image(pixels), dim=-1)
        text = F.normalize(encode_text(model, ids, vocab), dim=-1)
        logits = model.logit_scale.exp().clamp(max=100) * image @ text.t()
        loss = multi_positive_loss(logits, torch.tensor(groups))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == args.steps - 1:
            print("step %d/%d loss %.4f scale %.1f %.0fs" %
                  (step, args.steps, loss.item(), model.logit_scale.exp().item(),
                   time.time() - t0), flush=True)
        if step % 1000 == 999 or step == args.steps - 1:
            print("  held-out fashion train zero-shot ('{}' captions): %.1f%%" %
                  monitor(model, vocab, fashion, f_labels, ids_of), flush=True)
    vocab.write_back(model.token_embedding.weight)
    save(model, args)


@torch.no_grad()
def monitor(model, vocab, fashion, labels, ids_of):
    ids = torch.tensor([ids_of[names[0]] for names in cap.FASHION_NAMES], dtype=torch.long)
    text = F.normalize(encode_text(model, ids, vocab), dim=-1)
    start = fashion.shape[0] - MONITOR
    image = F.normalize(model.encode_image(to_pixels(fashion[start:])), dim=-1)
    pred = (image @ text.t()).argmax(dim=1).numpy()
    return 100.0 * float((pred == labels[start:]).mean())


def save(model, args):
    state = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    provenance = ("contrastive pretraining by tools/pretrain_tiny_clip.sh (steps %d, batch %d, "
                  "lr %g, seed %d) on Fashion-MNIST train (first 58,000) and digits-opencv train; "
                  "a demonstration model, not CLIP" % (args.steps, args.batch, args.lr, args.seed))
    meta = {"format": "vlprompt-clip-weights", "format_version": "1",
            "architecture": json.dumps(ARCH, separators=(",", ":")), "pretrained": "true",
            "provenance": provenance}
    write_safetensors(args.out, state, meta)
    print("wrote", args.out, flush=True)


if __name__ == "__main__":
    main()
