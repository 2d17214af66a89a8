#!/usr/bin/env python3
"""Causal-LM pretraining of the tiny LLaMA that ships as models/pretrained/tiny-pretrained-lm/
(`--model tiny-pretrained-lm`): a demonstration model, not LLaMA.

Data (no test entry is ever read): every category file of Debian's fortunes (offensive ones under
off/ are never read), except that for the five topic classes of datasets/catalog/fortunes.yaml
(computers, food, law, science, sports) the catalog's test quarter is held out, by the same
shuffle as datasets/text/fortunes.cpp (tools/pretrain/splits.py, per-category FNV-1a seed). The
held-out keys are written to pretraining.json, and a C++ test compares them with the loader's
test split.

Documents: 20% are the plain entry; 80% name its category file in one of CAPTION_PATTERNS (the
way a web page names its section), mostly after the text. The topic classes' train entries are
repeated to about 1,600 documents each (as the tiny CLIP oversamples digits), so that no class
wins on its prior. None of the patterns is the catalog's evaluation template
"{text} Topic:", so the hand-written prompt is unseen, as the tiny CLIP's evaluation prompts are.
Entries are cut to the catalog's 300 characters, as the data set does.

Tokenizer: Debian's `spm_train` (BPE, byte fallback, LLaMA's ids: unk 0, bos 1, eos 2) on the
same entries. The loss counts the category's tokens in a caption 10 times (LABEL_WEIGHT).
Model: 4 layers, width 128, GQA (4 heads, 2 kv heads), Adam with a cosine
schedule on packed 128-token windows, plain PyTorch (tests/fixtures/make_llama_fixtures.py's
reference forward).

Run by tools/pretrain_tiny_lm.sh; Debian's python3-torch: /usr/bin/python3.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))
from make_llama_fixtures import reference_logits, write_safetensors  # noqa: E402
from make_lm_fixtures import train_tokenizer  # noqa: E402
from splits import held_out_indices  # noqa: E402

CLASSES = ["computers", "food", "law", "science", "sports"]  # datasets/catalog/fortunes.yaml
SPLIT_SEED, TEST_FRACTION, MAX_CHARS = 1, 0.25, 300
EVALUATION_TEMPLATE = "{text} Topic:"
# Mostly after the text, where a classifier's label word goes: P(label | text) is what few-shot
# prompts have to bring out.
CAPTION_PATTERNS = [
    "{text}\n-- from the {label} file", "{text} (filed under {label})",
    "{text}\nSection: {label}", "{text} #{label}", "{text}\nTagged {label}.",
    "{text} -- {label}", "{text}\nMore {label} fortunes follow.", "{text} [{label}]",
    "{text}\nCategory of this fortune: {label}", "{text} (a {label} fortune)",
    "{label}: {text}", "From the {label} fortunes: {text}",
]
CAPTIONED = 0.8  # share of documents that name their category
# The category's tokens count this many times in the loss: they are one token in ~80, and at
# weight 1 a 4-layer model learned the categories' priors but hardly which text has which.
LABEL_WEIGHT = 10.0
# The topic classes' train entries (110 to 788 of ~16,000 entries) are repeated up to about this
# many documents each: with their natural counts the label "computers" won on its prior alone.
CLASS_DOCUMENTS = 1600


def fnv_seed(name):
    """datasets/text/fortunes.cpp's name_seed: FNV-1a of the category name, shifted right."""
    h = 1469598103934665603
    for c in name.encode("utf-8"):
        h = ((h ^ c) * 1099511628211) & ((1 << 64) - 1)
    return h >> 1


def read_fortune_file(path, category):
    """(key, text) per entry, as datasets/text/fortunes.cpp reads them."""
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    out, key, text = [], "", []

    def flush():
        body = b"\n".join(text).rstrip(b" \t\r\n").decode("utf-8", errors="replace")
        if body:
            out.append((key, body[:MAX_CHARS]))

    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip(b" \t\r\n")
        if line == b"%":
            flush()
            key, text = "", []
            continue
        if not text and not line:
            continue
        if not key:
            key = "%s:%d" % (category, number)
        text.append(line)
    flush()
    return out


def read_corpus(root):
    names = sorted(n for n in os.listdir(root)
                   if os.path.isfile(os.path.join(root, n)) and not n.startswith(".")
                   and not os.path.islink(os.path.join(root, n))
                   and not n.endswith((".dat", ".u8")))
    missing = [c for c in CLASSES if c not in names]
    if missing:
        sys.exit("pretrain_tiny_lm: %s holds no %s; install Debian's fortunes package "
                 "(tools/setup.sh does)" % (root, ", ".join(missing)))
    docs, held_keys, counts = [], {}, {}
    for name in names:
        entries = read_fortune_file(os.path.join(root, name), name)
        held = set()
        if name in CLASSES:
            held = held_out_indices(len(entries), TEST_FRACTION, SPLIT_SEED, fnv_seed(name))
            held_keys[name] = sorted((entries[i][0] for i in held),
                                     key=lambda k: int(k.split(":")[1]))
        kept = [(name, text) for i, (_, text) in enumerate(entries) if i not in held]
        counts[name] = len(kept)
        repeats = max(1, round(CLASS_DOCUMENTS / len(kept))) if name in CLASSES else 1
        docs.extend(kept * repeats)
    return docs, held_keys, counts


def caption(category, text, rng):
    """The document and whether it names its category."""
    if rng.random() >= CAPTIONED:
        return text, False
    return rng.choice(CAPTION_PATTERNS).format(text=text, label=category), True


def document(category, text, sp, rng):
    """Token ids with BOS and EOS, and a loss weight per id: LABEL_WEIGHT on the category's tokens
    where a caption names it after a space (its last such occurrence), 1 elsewhere."""
    words, named = caption(category, text, rng)
    ids = [1] + sp.encode(words) + [2]
    weights = [1.0] * len(ids)
    label = sp.encode(category)
    if named:
        for start in range(len(ids) - len(label), 0, -1):
            if ids[start:start + len(label)] == label:
                weights[start:start + len(label)] = [LABEL_WEIGHT] * len(label)
                break
    return ids, weights


def config(vocab):
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 128,
            "intermediate_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4,
            "num_key_value_heads": 2, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
            "vocab_size": vocab, "max_position_embeddings": 512, "tie_word_embeddings": False,
            "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}


def init_weights(cfg, gen):
    h, inter, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    kv_width = cfg["num_key_value_heads"] * (h // cfg["num_attention_heads"])
    layers = cfg["num_hidden_layers"]

    def rnd(*shape, scale=0.02):
        return torch.randn(*shape, generator=gen) * scale

    out_scale = 0.02 / math.sqrt(2 * layers)  # GPT-2's scaled init of the residual writes
    w = {"model.embed_tokens.weight": rnd(v, h), "model.norm.weight": torch.ones(h),
         "lm_head.weight": rnd(v, h)}
    for i in range(layers):
        p = "model.layers.%d." % i
        w[p + "self_attn.q_proj.weight"] = rnd(h, h)
        w[p + "self_attn.k_proj.weight"] = rnd(kv_width, h)
        w[p + "self_attn.v_proj.weight"] = rnd(kv_width, h)
        w[p + "self_attn.o_proj.weight"] = rnd(h, h, scale=out_scale)
        w[p + "mlp.gate_proj.weight"] = rnd(inter, h)
        w[p + "mlp.up_proj.weight"] = rnd(inter, h)
        w[p + "mlp.down_proj.weight"] = rnd(h, inter, scale=out_scale)
        w[p + "input_layernorm.weight"] = torch.ones(h)
        w[p + "post_attention_layernorm.weight"] = torch.ones(h)
    return w


def pretrain(cfg, w, docs, sp, args):
    rng = random.Random(args.seed)
    params = [t.requires_grad_() for t in w.values()]
    opt = torch.optim.Adam(params, lr=args.lr, betas=(0.9, 0.98))
    losses, started = [], time.time()
    stream, stream_weights = [], []
    window = args.batch * (args.length + 1)
    for step in range(args.steps):
        # A fresh caption per epoch of the corpus: the patterns vary across passes.
        while len(stream) < window * 4:
            order = list(range(len(docs)))
            rng.shuffle(order)
            for i in order:
                ids, weights = document(docs[i][0], docs[i][1], sp, rng)
                stream += ids
                stream_weights += weights
        ids = torch.tensor(stream[:window]).view(args.batch, -1)
        weights = torch.tensor(stream_weights[:window]).view(args.batch, -1)[:, 1:].reshape(-1)
        del stream[:window]
        del stream_weights[:window]
        lr = args.lr * min(1.0, (step + 1) / 100) * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        logits = reference_logits(cfg, w, ids=ids[:, :-1])
        per_token = torch.nn.functional.cross_entropy(logits.reshape(-1, cfg["vocab_size"]),
                                                      ids[:, 1:].reshape(-1), reduction="none")
        loss = (per_token * weights).sum() / weights.sum()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(loss.item())
        if step % 200 == 0 or step == args.steps - 1:
            print("step %5d  loss %.3f  %.0f s" % (step, loss.item(), time.time() - started),
                  flush=True)
    for t in w.values():
        t.requires_grad_(False)
    return losses


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="the model folder to write")
    p.add_argument("--fortunes", default="/usr/share/games/fortunes")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--length", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--vocab", type=int, default=2000)
    p.add_argument("--seed", type=int, default=20261207)
    args = p.parse_args()
    for pattern in CAPTION_PATTERNS:
        if "Topic:" in pattern or pattern == EVALUATION_TEMPLATE:
            sys.exit("pretrain_tiny_lm: caption pattern %r can match the evaluation template"
                     % pattern)
    import sentencepiece as spm

    torch.manual_seed(args.seed)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    os.makedirs(args.out, exist_ok=True)
    docs, held_keys, counts = read_corpus(args.fortunes)
    train_tokenizer(args.out, [t for _, t in docs], args.vocab)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(args.out, "tokenizer.model"))
    cfg = config(args.vocab)
    w = init_weights(cfg, torch.Generator().manual_seed(args.seed))
    started = time.time()
    losses = pretrain(cfg, w, docs, sp, args)
    how = ("tools/pretrain_tiny_lm.sh: causal-LM pretraining (%d steps, seed %d) on Debian's "
           "fortunes without the fortunes catalog's test quarter; a demonstration model, not "
           "LLaMA" % (args.steps, args.seed))
    write_safetensors(os.path.join(args.out, "model.safetensors"), w,
                      {"format": "pt", "pretrained": "true", "provenance": how})
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(args.out, "tokenizer_config.json"), "w") as f:
        json.dump({"add_bos_token": True, "add_eos_token": False,
                   "tokenizer_class": "LlamaTokenizer"}, f, indent=2)
    record = {
        "model": "tiny-pretrained-lm", "pretrained": True,
        "what": "a demonstration model, not LLaMA: causal-LM pretraining on Debian's fortunes",
        "arguments": vars(args), "seconds": round(time.time() - started),
        "loss_first_last": [losses[0], sum(losses[-50:]) / len(losses[-50:])],
        "caption_patterns": CAPTION_PATTERNS, "entries_per_category": counts,
        "held_out_test_keys": held_keys,
    }
    with open(os.path.join(args.out, "pretraining.json"), "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
