#!/usr/bin/env python3
"""PyTorch (CPU) reference for the ggmi training benchmark.

A from-scratch Llama of the stories260K architecture (RMSNorm, interleaved
RoPE as llama2.c, grouped-query attention, SwiGLU, classifier tied to the
token embedding), trained with AdamW on random token batches. Prints one
JSON line with the median step time and tokens/s.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rope_tables(head_dim, seq_len, theta=10000.0):
    freqs = 1.0 / (theta ** (torch.arange(0, head_dim, 2).float() / head_dim))
    t = torch.arange(seq_len).float()
    ang = torch.outer(t, freqs)  # [T, hd/2]
    return torch.cos(ang), torch.sin(ang)


def apply_rope(x, cos, sin):
    # x: [B, T, H, hd]; interleaved pairs (2j, 2j+1) as llama2.c.
    xr = x.float().reshape(*x.shape[:-1], -1, 2)
    a, b = xr[..., 0], xr[..., 1]
    cos = cos[None, :, None, :]
    sin = sin[None, :, None, :]
    out = torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1)
    return out.flatten(-2)


class Attention(nn.Module):
    def __init__(self, dim, n_heads, n_kv_heads):
        super().__init__()
        self.n_heads, self.n_kv = n_heads, n_kv_heads
        self.hd = dim // n_heads
        self.wq = nn.Linear(dim, n_heads * self.hd, bias=False)
        self.wk = nn.Linear(dim, n_kv_heads * self.hd, bias=False)
        self.wv = nn.Linear(dim, n_kv_heads * self.hd, bias=False)
        self.wo = nn.Linear(n_heads * self.hd, dim, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.wq(x).view(B, T, self.n_heads, self.hd)
        k = self.wk(x).view(B, T, self.n_kv, self.hd)
        v = self.wv(x).view(B, T, self.n_kv, self.hd)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        rep = self.n_heads // self.n_kv
        k = k.repeat_interleave(rep, dim=2)
        v = v.repeat_interleave(rep, dim=2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        if hasattr(F, "scaled_dot_product_attention"):
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            s = (q @ k.transpose(-2, -1)) / math.sqrt(self.hd) + mask
            o = F.softmax(s, dim=-1) @ v
        return self.wo(o.transpose(1, 2).reshape(B, T, -1))


class Block(nn.Module):
    def __init__(self, dim, hidden, n_heads, n_kv):
        super().__init__()
        self.attn_norm = RMSNorm(dim)
        self.attn = Attention(dim, n_heads, n_kv)
        self.ffn_norm = RMSNorm(dim)
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)

    def forward(self, x, cos, sin, mask):
        x = x + self.attn(self.attn_norm(x), cos, sin, mask)
        h = self.ffn_norm(x)
        return x + self.w2(F.silu(self.w1(h)) * self.w3(h))


class Llama(nn.Module):
    def __init__(self, dim, hidden, n_layers, n_heads, n_kv, vocab, seq_len):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.layers = nn.ModuleList(Block(dim, hidden, n_heads, n_kv) for _ in range(n_layers))
        self.norm = RMSNorm(dim)
        self.out = nn.Linear(dim, vocab, bias=False)
        self.out.weight = self.tok.weight  # tied classifier
        cos, sin = rope_tables(dim // n_heads, seq_len)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        mask = torch.full((seq_len, seq_len), float("-inf")).triu(1)
        self.register_buffer("mask", mask, persistent=False)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.tok(idx)
        cos, sin, mask = self.cos[:T], self.sin[:T], self.mask[:T, :T]
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        logits = self.out(self.norm(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)


class GPT2Block(nn.Module):
    def __init__(self, dim, hidden, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.ln_1 = nn.LayerNorm(dim, eps=1e-5)
        self.c_attn = nn.Linear(dim, 3 * dim)
        self.c_proj = nn.Linear(dim, dim)
        self.ln_2 = nn.LayerNorm(dim, eps=1e-5)
        self.c_fc = nn.Linear(dim, hidden)
        self.mlp_proj = nn.Linear(hidden, dim)

    def forward(self, x, mask):
        B, T, C = x.shape
        hd = C // self.n_heads
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_heads, hd).transpose(1, 2) for t in (q, k, v))
        if hasattr(F, "scaled_dot_product_attention"):
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            s = (q @ k.transpose(-2, -1)) / math.sqrt(hd) + mask
            o = F.softmax(s, dim=-1) @ v
        x = x + self.c_proj(o.transpose(1, 2).reshape(B, T, C))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT2(nn.Module):
    """GPT-2: learned positions, LayerNorm with bias, fused QKV with bias,
    tanh GELU, LM head tied to the token embedding."""

    def __init__(self, dim, hidden, n_layers, n_heads, vocab, ctx):
        super().__init__()
        self.wte = nn.Embedding(vocab, dim)
        self.wpe = nn.Embedding(ctx, dim)
        self.h = nn.ModuleList(GPT2Block(dim, hidden, n_heads) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(dim, eps=1e-5)
        mask = torch.full((ctx, ctx), float("-inf")).triu(1)
        self.register_buffer("mask", mask, persistent=False)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe.weight[:T]
        mask = self.mask[:T, :T]
        for layer in self.h:
            x = layer(x, mask)
        logits = F.linear(self.ln_f(x), self.wte.weight)
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)


def load_llama2c(path):
    """Reads a llama2.c legacy checkpoint into a Llama module."""
    import struct
    import numpy as np
    with open(path, "rb") as f:
        dim, hidden, n_layers, n_heads, n_kv, vocab, seq_len = struct.unpack("7i", f.read(28))
        w = np.frombuffer(f.read(), dtype=np.float32)
    shared = vocab > 0
    vocab = abs(vocab)
    model = Llama(dim, hidden, n_layers, n_heads, n_kv, vocab, seq_len)
    hd = dim // n_heads
    off = 0

    def take(*shape):
        nonlocal off
        n = int(np.prod(shape))
        t = torch.from_numpy(w[off:off + n].copy()).view(*shape)
        off += n
        return t

    with torch.no_grad():
        model.tok.weight.copy_(take(vocab, dim))
        for name, shape in [("attn_norm", (dim,)), ("wq", (n_heads * hd, dim)), ("wk", (n_kv * hd, dim)),
                            ("wv", (n_kv * hd, dim)), ("wo", (dim, n_heads * hd)), ("ffn_norm", (dim,)),
                            ("w1", (hidden, dim)), ("w2", (dim, hidden)), ("w3", (hidden, dim))]:
            for layer in model.layers:
                mod = {"attn_norm": layer.attn_norm, "ffn_norm": layer.ffn_norm, "w1": layer.w1, "w2": layer.w2,
                       "w3": layer.w3, "wq": layer.attn.wq, "wk": layer.attn.wk, "wv": layer.attn.wv,
                       "wo": layer.attn.wo}[name]
                mod.weight.copy_(take(*shape))
        model.norm.weight.copy_(take(dim))
        off += seq_len * hd  # RoPE tables
        if not shared:
            model.out = nn.Linear(dim, vocab, bias=False)
            model.out.weight.copy_(take(vocab, dim))
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=172)
    ap.add_argument("--layers", type=int, default=5)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=512)
    ap.add_argument("--ctx", type=int, default=0, help="context length of the model (seq when 0)")
    ap.add_argument("--arch", default="llama", choices=("llama", "gpt2"))
    ap.add_argument("--preset", default="", choices=("", "gpt2-124m"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--check-bin", help="print the loss of a llama2.c checkpoint on a fixed sequence and exit")
    a = ap.parse_args()
    if a.check_bin:
        model = load_llama2c(a.check_bin)
        toks = torch.tensor([[1] + [(i * 37 + 11) % model.tok.weight.shape[0] for i in range(1, 65)]])
        with torch.no_grad():
            loss = model(toks[:, :-1], toks[:, 1:])
        print(json.dumps({"impl": "pytorch", "check_loss": loss.item()}))
        return
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    if a.preset == "gpt2-124m":
        a.arch, a.dim, a.hidden, a.layers, a.heads, a.kv_heads, a.vocab, a.ctx = "gpt2", 768, 3072, 12, 12, 12, 50257, 1024
    ctx = a.ctx or a.seq
    if a.arch == "gpt2":
        model = GPT2(a.dim, a.hidden, a.layers, a.heads, a.vocab, ctx)
    else:
        model = Llama(a.dim, a.hidden, a.layers, a.heads, a.kv_heads, a.vocab, ctx)
    # Weight decay on the matrices (embeddings included), not on norms and
    # biases, as ggmi's trainer does.
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    g = torch.Generator().manual_seed(a.seed)
    data = torch.randint(0, a.vocab, (a.batch, a.seq + 1), generator=g)
    x, y = data[:, :-1].contiguous(), data[:, 1:].contiguous()
    times, cpus, losses = [], [], []
    for step in range(a.warmup + a.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        print("pytorch step %d/%d: %.2f s wall, %.2f s CPU, loss %.4f" % (step + 1, a.warmup + a.steps, dt, dc, loss.item()),
              file=sys.stderr, flush=True)
        if step >= a.warmup:
            times.append(dt)
            cpus.append(dc)
        losses.append(loss.item())
    med = statistics.median(times)
    print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "arch": a.arch,
                      "params": sum(p.numel() for p in model.parameters()), "threads": a.threads,
                      "steps": a.steps, "batch": a.batch, "seq": a.seq,
                      "median_step_s": med, "median_step_cpu_s": statistics.median(cpus), "tokens_per_s": a.batch * a.seq / med,
                      "first_loss": losses[0], "last_loss": losses[-1]}))


if __name__ == "__main__":
    main()
