"""Writes the seed corpora of tests/fuzz/corpus/<target>/ (committed; rerun by hand after a change).

Run with Debian's python3-torch: /usr/bin/python3 tests/fuzz/seed_corpus.py
Valid files come from the reference libraries (torch.save, numpy.save, Pillow); a few malformed
ones mark the edges the hardening probe found (overlapping ranges, deep nesting, aliases).
"""
import collections
import gzip
import io
import json
import os
import shutil
import struct
import sys
import zipfile

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus")


def put(target, name, data):
    folder = os.path.join(OUT, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def safetensors_bytes(tensors, metadata=None, dtypes=None):
    header, blobs, offset = {}, [], 0
    names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
             torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL"}
    for name, t in tensors.items():
        raw = t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def seed_safetensors():
    g = torch.Generator().manual_seed(0)
    put("safetensors", "f32_meta", safetensors_bytes(
        {"ctx": torch.randn(4, 8, generator=g), "bias": torch.zeros(3)},
        {"method": "coop", "class_token_position": "end"}))
    put("safetensors", "dtypes", safetensors_bytes(
        {"h": torch.randn(2, 3, generator=g).half(), "b": torch.randn(5, generator=g).bfloat16(),
         "i": torch.arange(6).reshape(2, 3), "u": torch.arange(4, dtype=torch.uint8),
         "m": torch.tensor([True, False]), "s": torch.tensor(2.5), "e": torch.zeros(0, 4)}))
    put("safetensors", "empty", safetensors_bytes({}, {"k": "v"}))
    overlap = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
               "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}
    text = json.dumps(overlap).encode()
    put("safetensors", "overlap", struct.pack("<Q", len(text)) + text + bytes(12))
    put("safetensors", "nan", safetensors_bytes({"x": torch.tensor([1.0, float("nan")])}))


def torch_save_bytes(obj, **kw):
    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    return buf.getvalue()


def seed_torch_archive():
    g = torch.Generator().manual_seed(1)
    base = torch.randn(6, 4, generator=g)
    objs = {
        "state_dict": collections.OrderedDict(w=base, b=torch.zeros(4, dtype=torch.float16)),
        "checkpoint": {"state_dict": {"ctx": base[1:3]}, "epoch": 3, "optimizer": None,
                       "names": ["a", "b"], "lr": 0.002, "flag": True},
        "views": {"t": base.t(), "s": base[::2, 1:], "i": torch.arange(5), "e": torch.empty(0)},
        "nested": [[[[1, 2, (3, 4.5, "x", b"y")]]]],
    }
    for name, obj in objs.items():
        put("torch_archive", name, torch_save_bytes(obj))
    module = torch.jit.script(torch.nn.Linear(3, 2))
    buf = io.BytesIO()
    torch.jit.save(module, buf)
    put("torch_archive", "torchscript", buf.getvalue())
    # The archive cut short: the storage record is shorter than its tensor.
    full = torch_save_bytes({"w": base})
    put("torch_archive", "truncated", full[:1000])


def seed_torch_pickle():
    """data.pkl of archives whose storages fit the harness's data/0 (64 bytes) and data/1 (3)."""
    g = torch.Generator().manual_seed(2)
    objs = {
        "two_storages": {"a": torch.randn(16, generator=g), "b": torch.arange(3, dtype=torch.uint8)},
        "view": {"a": torch.randn(4, 4, generator=g)[1:, ::2]},
        "ordered": collections.OrderedDict(x=torch.randn(2, 8, generator=g)),
        "plain": {"epoch": 1, "names": ["x"] * 3, "t": (1, 2.0, None, True)},
    }
    for name, obj in objs.items():
        with zipfile.ZipFile(io.BytesIO(torch_save_bytes(obj))) as z:
            pkl = [n for n in z.namelist() if n.endswith("data.pkl")][0]
            put("torch_pickle", name, z.read(pkl))
    put("torch_pickle", "deep_list", b"\x80\x02" + b"]" * 2000 + b".")
    put("torch_pickle", "bare_int", b"\x80\x02K\x05.")


def seed_npy():
    arrays = {
        "f32": np.arange(12, dtype=np.float32).reshape(3, 4),
        "f64_fortran": np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)),
        "i64": np.arange(5, dtype=np.int64), "u8": np.arange(4, dtype=np.uint8),
        "f16": np.ones((2, 2), dtype=np.float16), "big_endian": np.arange(3, dtype=">f4"),
        "scalar": np.array(3.5, dtype=np.float32), "empty": np.zeros((0, 3), dtype=np.float32),
        "bool": np.array([True, False]),
    }
    for name, a in arrays.items():
        buf = io.BytesIO()
        np.save(buf, a)
        put("npy", name, buf.getvalue())


def seed_idx():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    img = struct.pack(">IIII", 2051, 2, 3, 4) + images.tobytes()
    lab = struct.pack(">II", 2049, 3) + bytes([0, 9, 4])
    put("idx", "images", img)
    put("idx", "labels", lab)
    put("idx", "images_gz", gzip.compress(img))
    put("idx", "labels_gz", gzip.compress(lab))
    put("idx", "huge_count", struct.pack(">IIII", 2051, 0x7FFFFFFF, 0x7FFFFFFF, 2))


def seed_config():
    for name in sorted(os.listdir(os.path.join(ROOT, "prompts", "configs"))):
        with open(os.path.join(ROOT, "prompts", "configs", name), "rb") as f:
            put("config", "method_" + name, f.read())
    put("config", "run", "optim:\n  lr: 0.01\n  name: adamw\ntrain:\n  max_epoch: 2\n"
        "coop:\n  n_ctx: 4\n  class_token_position: middle\n#= train.batch_size=8\n")
    put("config", "anchors", "base: &b {lr: 0.1, momentum: 0.5}\noptim: *b\n"
        "train: &t {max_epoch: 1}\n")
    put("config", "self_alias", "train: &a {max_epoch: 1, x: *a}\n")
    put("config", "duplicate_keys", "optim:\n  lr: 0.1\n  lr: 0.2\n")
    put("config", "section_list", "optim: [1, 2]\ntrain: 5\ncoop: ~\n")
    put("config", "overrides", "#= optim.lr=-1\n#= coop.n_ctx=99999999\n#= train=5\n"
        "#= epochs_by_shots.shots.16=abc\n")


def seed_coop_split():
    good = {"train": [["cat/a.jpg", 0, "cat"], ["b.jpg", 1, "big_dog"]],
            "val": [["b.jpg", 1, "big_dog"]], "test": [["cat/a.jpg", 0, "cat"]]}
    put("coop_split", "good", json.dumps(good))
    put("coop_split", "traversal", json.dumps(
        {"train": [["../outside.jpg", 0, "x"], ["/etc/passwd", 0, "x"], ["cat/../../outside.jpg", 0, "x"]],
         "val": [], "test": []}))
    put("coop_split", "bad_entries", json.dumps(
        {"train": [["a.jpg", -1, "x"], ["a.jpg"], [1, 2, 3], "s"], "val": {}, "test": None}))
    put("coop_split", "names_disagree", json.dumps(
        {"train": [["b.jpg", 0, "x"], ["b.jpg", 0, "y"]], "val": [], "test": []}))


TEXTS = {
    "plain": "a photo of a cat.",
    "html": "Tom &amp; Jerry&#39;s &lt;b&gt;show&lt;/b&gt; &nbsp; &#x1F600;",
    "unicode": "Caf\u00e9 na\u00efve \u65e5\u672c\u8a9e \U0001F408 \u0130stanbul \u00df",
    "numbers": "route 66, 3.14159 and 1,000,000 things",
    "contractions": "it's we'll they're I'd don't",
    "long_word": "supercalifragilistic" * 40,
    "spaces": "  many\t\tspaces \n and\r\nlines  ",
}


def seed_text_targets():
    for name, text in TEXTS.items():
        put("clip_tokenizer", name, text)
        put("sentencepiece", name, text)
    put("clip_tokenizer", "invalid_utf8", b"abc\xff\xfe\xc3(\xe2\x82 end")
    put("sentencepiece", "invalid_utf8", b"abc\xff\xfe\xc3(\xe2\x82 end")
    with open(os.path.join(HERE, "data", "spm", "tokenizer.model"), "rb") as f:
        put("sentencepiece", "model_file", b"\x00" + f.read())
    put("sentencepiece", "model_garbage", b"\x00not a model")


def seed_llama_config():
    """config.json, a line "---", then tokenizer_config.json (tests/fuzz/targets/llama_config)."""
    config = {"architectures": ["LlamaForCausalLM"], "hidden_size": 32, "intermediate_size": 64,
              "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
              "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "vocab_size": 500,
              "max_position_embeddings": 128, "bos_token_id": 1, "eos_token_id": 2}
    tok = {"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>",
           "eos_token": {"content": "</s>", "lstrip": False}, "legacy": False}

    def case(name, over=None, tok_over=None, with_tok=True):
        c = dict(config, **(over or {}))
        text = json.dumps(c)
        if with_tok:
            text += "\n---\n" + json.dumps(dict(tok, **(tok_over or {})))
        put("llama_config", name, text)

    case("valid")
    case("no_tokenizer_config", with_tok=False)
    case("mistral", {"architectures": ["MistralForCausalLM"], "sliding_window": 4096,
                     "max_position_embeddings": 32768})
    case("million_layers", {"num_hidden_layers": 1000000})
    case("huge_vocab", {"vocab_size": 10 ** 7})
    case("rope_scaling", {"rope_scaling": {"type": "linear", "factor": 2.0}})
    case("bad_numbers", {"rope_theta": -1, "rms_norm_eps": -1e-6, "max_position_embeddings": 0})
    case("head_dim", {"head_dim": 16, "hidden_act": "gelu"})
    case("eos_list", {"eos_token_id": [2, 5], "pad_token_id": None})
    case("bos_mismatch", tok_over={"bos_token": "<|begin_of_text|>"})
    case("prefix_space", tok_over={"add_prefix_space": False, "legacy": "yes"})
    put("llama_config", "not_json", "{\"hidden_size\": \n---\n[1, 2")


def seed_image():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    variants = {
        "rgb.png": (Image.fromarray(rgb), "PNG"),
        "rgba.png": (Image.fromarray(np.dstack([rgb, rgb[..., :1]])), "PNG"),
        "gray.png": (Image.fromarray(rgb[..., 0]), "PNG"),
        "palette.png": (Image.fromarray(rgb).convert("P"), "PNG"),
        "gray16.png": (Image.fromarray((rgb[..., 0].astype(np.uint16) * 257), "I;16"), "PNG"),
        "rgb.jpg": (Image.fromarray(rgb), "JPEG"),
        "gray.jpg": (Image.fromarray(rgb[..., 0]), "JPEG"),
        "rgb.bmp": (Image.fromarray(rgb), "BMP"),
        "one_pixel.png": (Image.fromarray(rgb[:1, :1]), "PNG"),
        "one_row.png": (Image.fromarray(rgb[:1]), "PNG"),
    }
    for name, (im, fmt) in variants.items():
        buf = io.BytesIO()
        im.save(buf, fmt)
        put("image", name.replace(".", "_"), buf.getvalue())
    # A PNG whose header claims 20000x20000: refused by the pixel cap before decoding.
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    png = bytearray(buf.getvalue())
    png[16:24] = struct.pack(">II", 20000, 20000)
    put("image", "huge_header_png", bytes(png))


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    seed_safetensors()
    seed_torch_archive()
    seed_torch_pickle()
    seed_npy()
    seed_idx()
    seed_config()
    seed_coop_split()
    seed_text_targets()
    seed_llama_config()
    seed_image()
    print("seed corpora written to", OUT)


if __name__ == "__main__":
    sys.exit(main())
