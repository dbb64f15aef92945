#!/usr/bin/env python3
"""Example external trainer for ggmi: fine-tunes a GPT-2 Hugging Face folder
with plain PyTorch (GPU when available) and reports held-out losses.

ggmi's external-trainer contract (package train, RunExternal; the
experiment key students.external):

  ggmi runs the command of students.external in a working directory DIR,
  after replacing the placeholders inside each word of it:
    {train} {eval}              the training / held-out file in the chosen
                                format (Alpaca by default)
    {train_alpaca} {eval_alpaca} {train_chat} {eval_chat}
                                both formats are always written
    {out}                       DIR/out, created empty
    {dir}                       DIR
    {seed}                      the run's seed (also in $GGMI_SEED)
  Alpaca files hold one JSON object per line: {"id", "instruction",
  "input", "output"} (input may be ""); chat files {"id", "messages":
  [{"role": "user", ...}, {"role": "assistant", ...}]}. Standard output and
  error go to DIR/train.log. A non-zero exit status fails the run.

  The trainer writes {out}/eval.json:
    {"train_loss": R̂_train, "eval_loss": R_test, "eval_perplexity": exp(R_test),
     "train_tokens": n, "eval_tokens": n,
     "predictions": [{"id": eval record id, "response": generated text}, ...]}
  Losses are mean cross-entropies in nats per predicted token; every member
  is optional but eval_loss or predictions must be present, losses finite
  and ≥ 0, and every prediction must name a distinct record of the eval
  file. ggmi takes |eval_loss − train_loss| as the generalization gap and
  hands the predictions to the judge.

What this script does, so that its losses are the ones ggmi's built-in
students report: each record becomes the Alpaca prompt (or the compact one,
--template compact) followed by the response and <|endoftext|>; the loss
covers the response tokens and <|endoftext|> only; rows are cut to
--seq-len + 1 tokens; losses are averaged over all predicted tokens of a
file. Training is AdamW (β 0.9/0.95, weight decay 0.1 on matrices), linear
warm-up then cosine decay to 10% of --lr, global gradient-norm clipping at
1.0, batches drawn in a seeded shuffled order.

Besides eval.json it writes {out}/trainer.json (the held-out loss before
training, steps, device, seconds) and, with --save, the fine-tuned model as
a Hugging Face folder {out}/model (config.json, model.safetensors in F32,
the tokenizer files) that ggmi loads again.

Needs only PyTorch (no transformers or tokenizers packages): it reads
safetensors, GPT-2's byte-level BPE (tokenizer.json, or encoder.json +
vocab.bpe) and the model itself. Its pre-tokenizer uses Python's re module,
which matches GPT-2's regex exactly for text whose numerals are decimal
digits (\\p{N} beyond Nd, e.g. '²', is split differently).

Example (experiment file):

  students:
    base: hf://openai-community/gpt2
    external: /usr/bin/python3 examples/trainers/train_hf.py --model /models/gpt2
      --train {train} --eval {eval} --out {out} --seed {seed} --epochs 1 --lr 5e-5
"""
import argparse
import json
import math
import os
import random
import re
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ALPACA = (
    "Below is an instruction that describes a task, paired with an input that provides further context. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{context}\n\n### Response:\n",
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:\n",
)
COMPACT = (
    "### Instruction:\n{instruction}\n\n### Input:\n{context}\n\n### Response:\n",
    "### Instruction:\n{instruction}\n\n### Response:\n",
)


def fail(msg):
    print("train_hf: " + msg, file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------- tokenizer

def byte_alphabet():
    """GPT-2's reversible map of the 256 byte values to printable characters:
    printable Latin-1 bytes stand for themselves, the others for code points
    from 256 on, in byte order."""
    keep = set(range(ord("!"), ord("~") + 1)) | set(range(0xA1, 0xAD)) | set(range(0xAE, 0x100))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


PRETOKEN = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")


class BPE:
    def __init__(self, vocab, merges, eos):
        self.vocab = vocab
        self.inv = {i: s for s, i in vocab.items()}
        self.rank = {tuple(m): r for r, m in enumerate(merges)}
        self.eos = eos
        self.enc_byte = byte_alphabet()
        self.dec_byte = {c: b for b, c in self.enc_byte.items()}
        self.cache = {}

    @classmethod
    def load(cls, folder):
        tj = os.path.join(folder, "tokenizer.json")
        if os.path.exists(tj):
            with open(tj, encoding="utf-8") as f:
                spec = json.load(f)
            model = spec.get("model") or {}
            if model.get("type") != "BPE":
                fail("%s: model.type %r is not BPE" % (tj, model.get("type")))
            vocab = dict(model["vocab"])
            merges = [m.split(" ", 1) if isinstance(m, str) else list(m) for m in model["merges"]]
            for t in spec.get("added_tokens") or []:
                vocab[t["content"]] = t["id"]
        elif os.path.exists(os.path.join(folder, "encoder.json")):
            with open(os.path.join(folder, "encoder.json"), encoding="utf-8") as f:
                vocab = json.load(f)
            with open(os.path.join(folder, "vocab.bpe"), encoding="utf-8") as f:
                lines = f.read().split("\n")
            merges = [l.split(" ") for l in lines[1:] if l and not l.startswith("#version")]
        else:
            fail("%s holds neither tokenizer.json nor encoder.json + vocab.bpe" % folder)
        eos = vocab.get("<|endoftext|>")
        if eos is None:
            fail("%s: the vocabulary has no <|endoftext|> token" % folder)
        return cls(vocab, merges, eos)

    def _word(self, piece):
        if piece in self.cache:
            return self.cache[piece]
        parts = list(piece)
        while len(parts) > 1:
            best, at = None, -1
            for i in range(len(parts) - 1):
                r = self.rank.get((parts[i], parts[i + 1]))
                if r is not None and (best is None or r < best):
                    best, at = r, i
            if best is None:
                break
            a, b = parts[at], parts[at + 1]
            merged, i = [], 0
            while i < len(parts):  # merge every occurrence of the pair, left to right
                if i + 1 < len(parts) and parts[i] == a and parts[i + 1] == b:
                    merged.append(a + b)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        ids = [self.vocab[p] for p in parts]
        self.cache[piece] = ids
        return ids

    def encode(self, text):
        out = []
        for m in PRETOKEN.finditer(text):
            piece = "".join(self.enc_byte[b] for b in m.group(0).encode("utf-8"))
            out.extend(self._word(piece))
        return out

    def decode(self, ids):
        data = bytearray()
        for i in ids:
            for c in self.inv.get(i, ""):
                if c in self.dec_byte:
                    data.append(self.dec_byte[c])
        return data.decode("utf-8", errors="replace")


# -------------------------------------------------------------- safetensors

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        fail("%s: truncated safetensors file" % path)
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        fail("%s: header of %d bytes exceeds the file" % (path, n))
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] not in DTYPES:
            fail("%s: tensor %s has dtype %s (supported: F32, F16, BF16)" % (path, name, t["dtype"]))
        a, b = t["data_offsets"]
        if base + b > len(data):
            fail("%s: tensor %s lies beyond the end of the file" % (path, name))
        x = torch.frombuffer(bytearray(data[base + a:base + b]), dtype=DTYPES[t["dtype"]])
        out[name] = x.to(torch.float32).reshape(t["shape"])
    return out


def read_weights(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    w = {}
    for name in files:
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            fail("%s is missing" % path)
        w.update(read_safetensors(path))
    return {k[len("transformer."):] if k.startswith("transformer.") else k: v for k, v in w.items()}


def write_safetensors(path, tensors):
    header, off, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu", torch.float32).contiguous()
        b = t.numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


# -------------------------------------------------------------------- model

class GPT2(nn.Module):
    """GPT-2 with Hugging Face's parameter names and layouts (the Conv1D
    weights of attn.c_attn, attn.c_proj, mlp.c_fc and mlp.c_proj are stored
    input × output), so checkpoints load and save without renaming."""

    def __init__(self, cfg):
        super().__init__()
        self.D, self.H, self.L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
        self.ctx = cfg.get("n_positions") or cfg.get("n_ctx")
        self.eps = cfg.get("layer_norm_epsilon", 1e-5)
        inner = cfg.get("n_inner") or 4 * self.D
        V, D = cfg["vocab_size"], self.D
        p = {"wte.weight": (V, D), "wpe.weight": (self.ctx, D), "ln_f.weight": (D,), "ln_f.bias": (D,)}
        for l in range(self.L):
            for name, shape in [("ln_1.weight", (D,)), ("ln_1.bias", (D,)), ("attn.c_attn.weight", (D, 3 * D)),
                                ("attn.c_attn.bias", (3 * D,)), ("attn.c_proj.weight", (D, D)),
                                ("attn.c_proj.bias", (D,)), ("ln_2.weight", (D,)), ("ln_2.bias", (D,)),
                                ("mlp.c_fc.weight", (D, inner)), ("mlp.c_fc.bias", (inner,)),
                                ("mlp.c_proj.weight", (inner, D)), ("mlp.c_proj.bias", (D,))]:
                p["h.%d.%s" % (l, name)] = shape
        self.shapes = p
        self.params = nn.ParameterDict({k.replace(".", "__"): nn.Parameter(torch.zeros(s)) for k, s in p.items()})
        self.register_buffer("mask", torch.ones(self.ctx, self.ctx, dtype=torch.bool).triu(1), persistent=False)

    def w(self, name):
        return self.params[name.replace(".", "__")]

    def load(self, weights, folder):
        missing = [k for k in self.shapes if k not in weights]
        if missing:
            fail("%s: tensors missing from the checkpoint: %s" % (folder, ", ".join(missing[:5])))
        with torch.no_grad():
            for k, shape in self.shapes.items():
                if tuple(weights[k].shape) != shape:
                    fail("%s: tensor %s has shape %s, config.json implies %s" % (folder, k, list(weights[k].shape), list(shape)))
                self.w(k).copy_(weights[k])

    def state(self):
        return {k: self.w(k) for k in self.shapes}

    def forward(self, idx):
        B, T = idx.shape
        D, H = self.D, self.H
        ln = lambda x, p: F.layer_norm(x, (D,), self.w(p + ".weight"), self.w(p + ".bias"), self.eps)
        x = self.w("wte.weight")[idx] + self.w("wpe.weight")[:T]
        mask = self.mask[:T, :T]
        for l in range(self.L):
            p = "h.%d." % l
            q, k, v = (ln(x, p + "ln_1") @ self.w(p + "attn.c_attn.weight") + self.w(p + "attn.c_attn.bias")).split(D, dim=2)
            q, k, v = (t.view(B, T, H, D // H).transpose(1, 2) for t in (q, k, v))
            s = (q @ k.transpose(-2, -1)) / math.sqrt(D // H)
            a = F.softmax(s.masked_fill(mask, float("-inf")), dim=-1) @ v
            a = a.transpose(1, 2).reshape(B, T, D)
            x = x + a @ self.w(p + "attn.c_proj.weight") + self.w(p + "attn.c_proj.bias")
            h = ln(x, p + "ln_2") @ self.w(p + "mlp.c_fc.weight") + self.w(p + "mlp.c_fc.bias")
            h = F.gelu(h, approximate="tanh")
            x = x + h @ self.w(p + "mlp.c_proj.weight") + self.w(p + "mlp.c_proj.bias")
        return ln(x, "ln_f") @ self.w("wte.weight").T


# --------------------------------------------------------------------- data

def read_records(path):
    recs = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except ValueError as e:
                fail("%s:%d: %s" % (path, n, e))
            if "messages" in r:  # chat format: first user turn, first assistant turn after it
                msgs = r["messages"]
                u = next((i for i, m in enumerate(msgs) if m.get("role") == "user"), None)
                a = next((m for m in msgs[(u or 0) + 1:] if m.get("role") == "assistant"), None)
                r = {"id": r.get("id"), "instruction": msgs[u]["content"] if u is not None else "",
                     "input": "", "output": a["content"] if a else ""}
            recs.append(r)
    return recs


def prompt_of(r, template):
    tmpl = template[0] if (r.get("input") or "").strip() else template[1]
    return tmpl.replace("{instruction}", r.get("instruction") or "").replace("{context}", r.get("input") or "")


def encode(tok, recs, template, seq_len):
    """Rows of (tokens, loss mask): prompt, response, <|endoftext|>; the
    mask covers the response and <|endoftext|>; cut to seq_len + 1 tokens."""
    rows = []
    for r in recs:
        p = tok.encode(prompt_of(r, template))
        resp = tok.encode(r.get("output") or "") + [tok.eos]
        toks = (p + resp)[:seq_len + 1]
        mask = ([False] * len(p) + [True] * len(resp))[:seq_len + 1]
        rows.append((toks, mask))
    return rows


def batch_tensors(rows, T, device):
    inp = torch.full((len(rows), T), 0, dtype=torch.long)
    tgt = torch.full((len(rows), T), -1, dtype=torch.long)
    for b, (toks, mask) in enumerate(rows):
        n = len(toks) - 1
        inp[b, :n] = torch.tensor(toks[:-1])
        tgt[b, :n] = torch.tensor([t if m else -1 for t, m in zip(toks[1:], mask[1:])])
    return inp.to(device), tgt.to(device)


def mean_loss(model, rows, T, batch, device, amp):
    """Mean cross-entropy over every predicted token of rows, and their count."""
    total, count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for i in range(0, len(rows), batch):
            inp, tgt = batch_tensors(rows[i:i + batch], T, device)
            with autocast(device, amp):
                logits = model(inp)
            total += F.cross_entropy(logits.float().view(-1, logits.size(-1)), tgt.view(-1),
                                     ignore_index=-1, reduction="sum").item()
            count += int((tgt >= 0).sum())
    model.train()
    return (total / count if count else float("nan")), count


def autocast(device, amp):
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


def generate(model, tok, prompt_ids, max_new, device):
    ids = list(prompt_ids)[-model.ctx:]
    out = []
    model.eval()
    with torch.no_grad():
        for _ in range(max_new):
            x = torch.tensor([ids[-model.ctx:]], device=device)
            nxt = int(model(x)[0, -1].argmax())
            if nxt == tok.eos:
                break
            out.append(nxt)
            ids.append(nxt)
    model.train()
    return tok.decode(out)


# --------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="Hugging Face GPT-2 folder (config.json, model.safetensors, tokenizer)")
    ap.add_argument("--train", required=True, help="training file ({train}: Alpaca or chat JSON lines)")
    ap.add_argument("--eval", required=True, help="held-out file ({eval})")
    ap.add_argument("--out", required=True, help="output directory ({out})")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("GGMI_SEED", "1")))
    ap.add_argument("--epochs", type=float, default=1.0, help="passes over the training file (when --steps is 0)")
    ap.add_argument("--steps", type=int, default=0, help="optimiser steps (overrides --epochs)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=512, help="positions per row (at most the model's context)")
    ap.add_argument("--lr", type=float, default=5e-5, help="peak learning rate")
    ap.add_argument("--warmup", type=float, default=0.05, help="warm-up steps (≥ 1) or share of the steps (< 1)")
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--template", choices=("alpaca", "compact"), default="alpaca")
    ap.add_argument("--predictions", type=int, default=-1, help="eval records to answer for the judge (-1: all, 0: none)")
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--device", default="auto", help="auto (cuda when available), cpu, cuda, cuda:1, ...")
    ap.add_argument("--amp", action="store_true", help="bf16 autocast on CUDA")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (torch.set_num_threads; 0: PyTorch's default)")
    ap.add_argument("--save", action="store_true", help="write the fine-tuned model to {out}/model")
    a = ap.parse_args()

    t0 = time.time()
    random.seed(a.seed)
    torch.manual_seed(a.seed)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if a.device == "auto" else a.device)
    with open(os.path.join(a.model, "config.json")) as f:
        cfg = json.load(f)
    if cfg.get("model_type") != "gpt2":
        fail("%s/config.json: model_type %r is not supported by this example (supported: gpt2)" % (a.model, cfg.get("model_type")))
    tok = BPE.load(a.model)
    if len(tok.vocab) > cfg["vocab_size"]:
        fail("%s: the tokenizer has %d tokens, config.json vocab_size %d" % (a.model, len(tok.vocab), cfg["vocab_size"]))
    model = GPT2(cfg)
    model.load(read_weights(a.model), a.model)
    model.to(device)
    T = min(a.seq_len, model.ctx)
    template = ALPACA if a.template == "alpaca" else COMPACT

    train_recs, eval_recs = read_records(a.train), read_records(a.eval)
    if not train_recs:
        fail("%s holds no records" % a.train)
    train_rows = encode(tok, train_recs, template, T)
    eval_rows = encode(tok, eval_recs, template, T)
    eval_before, _ = mean_loss(model, eval_rows, T, a.batch, device, a.amp)
    print("held-out loss before training %.4f on %d records" % (eval_before, len(eval_rows)), flush=True)

    per_epoch = math.ceil(len(train_rows) / a.batch)
    steps = a.steps if a.steps > 0 else max(1, round(a.epochs * per_epoch))
    warm = int(a.warmup) if a.warmup >= 1 else int(a.warmup * steps)
    decay = [p for n, p in model.params.items() if p.dim() >= 2]
    rest = [p for n, p in model.params.items() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay}, {"params": rest, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)

    def lr_at(s):
        if s < warm:
            return a.lr * (s + 1) / warm
        frac = (s - warm) / max(1, steps - warm)
        return 0.1 * a.lr + 0.9 * a.lr * 0.5 * (1 + math.cos(math.pi * frac))

    order, pos = [], 0
    rng = random.Random(a.seed)
    for step in range(steps):
        batch = []
        while len(batch) < a.batch:
            if pos == len(order):
                order, pos = list(range(len(train_rows))), 0
                rng.shuffle(order)
            batch.append(train_rows[order[pos]])
            pos += 1
        inp, tgt = batch_tensors(batch, T, device)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        with autocast(device, a.amp):
            logits = model(inp)
        loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), tgt.view(-1), ignore_index=-1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        print("step %d/%d lr %.3g loss %.4f grad norm %.3g" % (step + 1, steps, lr_at(step), loss.item(), norm), flush=True)

    train_loss, train_tokens = mean_loss(model, train_rows, T, a.batch, device, a.amp)
    eval_loss, eval_tokens = mean_loss(model, eval_rows, T, a.batch, device, a.amp)
    print("held-out loss after training %.4f, training loss %.4f" % (eval_loss, train_loss), flush=True)
    result = {"train_loss": train_loss, "train_tokens": train_tokens}
    if eval_tokens:
        result.update(eval_loss=eval_loss, eval_perplexity=math.exp(eval_loss), eval_tokens=eval_tokens)
    n_pred = len(eval_recs) if a.predictions < 0 else min(a.predictions, len(eval_recs))
    preds = []
    for r in eval_recs[:n_pred]:
        if not r.get("id"):
            continue
        p = tok.encode(prompt_of(r, template))
        preds.append({"id": r["id"], "response": generate(model, tok, p, a.max_new_tokens, device)})
    if preds:
        result["predictions"] = preds

    os.makedirs(a.out, exist_ok=True)
    if a.save:
        md = os.path.join(a.out, "model")
        os.makedirs(md, exist_ok=True)
        write_safetensors(os.path.join(md, "model.safetensors"), model.state())
        for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "encoder.json", "vocab.bpe"):
            src = os.path.join(a.model, name)
            if os.path.exists(src):
                with open(src, "rb") as f, open(os.path.join(md, name), "wb") as g:
                    g.write(f.read())
    info = {"eval_loss_before": eval_before, "steps": steps, "batch": a.batch, "seq_len": T, "lr": a.lr,
            "template": a.template, "device": str(device), "torch": torch.__version__, "seed": a.seed,
            "seconds": time.time() - t0}
    with open(os.path.join(a.out, "trainer.json"), "w") as f:
        json.dump(info, f, indent=1)
    tmp = os.path.join(a.out, "eval.json.tmp")
    with open(tmp, "w") as f:
        json.dump(result, f, ensure_ascii=False)
    os.replace(tmp, os.path.join(a.out, "eval.json"))


if __name__ == "__main__":
    main()
