#!/usr/bin/python3
"""Independent PyTorch reference for TestTorchParity (llama package).

Usage: torch_ref.py DIR. DIR holds a Hugging Face checkpoint written by ggmi
(config.json, model.safetensors), batch.json (B, T, inputs, targets; a
negative target is excluded from the loss) and ggmi's results: logits.safetensors
("logits", the first sequence's logits [T, vocab]), grads.safetensors (the
gradient of the mean cross-entropy under the checkpoint's tensor names) and
loss.json. This script reads the safetensors files itself, runs plain
float64 modules of the family (gpt2, llama incl. llama3 RoPE scaling, qwen2),
and prints the largest relative difference of each tensor. Exit status 1
when any exceeds the tolerance (max|a-b| / max|b|, default 1e-4).
"""
import json
import math
import struct
import sys

import torch

TOL = 1e-4


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        raw = bytearray(data[base + a:base + b])
        dt = t["dtype"]
        if dt == "F32":
            x = torch.frombuffer(raw, dtype=torch.float32)
        elif dt == "F16":
            x = torch.frombuffer(raw, dtype=torch.float16)
        elif dt == "BF16":
            x = torch.frombuffer(raw, dtype=torch.bfloat16)
        else:
            raise SystemExit("unsupported dtype %s" % dt)
        out[name] = x.to(torch.float64).reshape(t["shape"]).clone()
    return out


def attention(q, k, v, nh, nkv):
    # q [T, nh*hs], k, v [T, nkv*hs]; causal, scaled by 1/sqrt(hs).
    T = q.shape[0]
    hs = q.shape[1] // nh
    q = q.view(T, nh, hs).transpose(0, 1)
    k = k.view(T, nkv, hs).transpose(0, 1).repeat_interleave(nh // nkv, dim=0)
    v = v.view(T, nkv, hs).transpose(0, 1).repeat_interleave(nh // nkv, dim=0)
    s = q @ k.transpose(1, 2) / math.sqrt(hs)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    s = s.masked_fill(mask, float("-inf"))
    return (torch.softmax(s, dim=-1) @ v).transpose(0, 1).reshape(T, nh * hs)


def gpt2_logits(W, cfg, ids):
    T = len(ids)
    eps = cfg["layer_norm_epsilon"]
    nh = cfg["n_head"]
    D = cfg["n_embd"]
    x = W["wte.weight"][ids] + W["wpe.weight"][:T]
    ln = lambda x, p: torch.nn.functional.layer_norm(x, (D,), W[p + ".weight"], W[p + ".bias"], eps)
    for l in range(cfg["n_layer"]):
        p = "h.%d." % l
        h = ln(x, p + "ln_1")
        qkv = h @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]
        q, k, v = qkv.split(D, dim=1)
        a = attention(q, k, v, nh, nh)
        x = x + a @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
        h = ln(x, p + "ln_2")
        h = h @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"]
        h = 0.5 * h * (1 + torch.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h ** 3)))
        x = x + h @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
    x = ln(x, "ln_f")
    return x @ W["wte.weight"].T


def inv_freq(cfg, hs):
    theta = cfg.get("rope_theta", 10000.0)
    f = 1.0 / theta ** (torch.arange(0, hs, 2, dtype=torch.float64) / hs)
    rs = cfg.get("rope_scaling")
    if rs and rs.get("rope_type", rs.get("type")) == "llama3":
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        orig = rs["original_max_position_embeddings"]
        wave = 2 * math.pi / f
        out = []
        for fi, w in zip(f.tolist(), wave.tolist()):
            if w > orig / lo:
                out.append(fi / factor)
            elif w < orig / hi:
                out.append(fi)
            else:
                sm = (orig / w - lo) / (hi - lo)
                out.append((1 - sm) * fi / factor + sm * fi)
        f = torch.tensor(out, dtype=torch.float64)
    return f


def rope(x, n, hs, f):
    # Rotate-half layout: pairs (j, j+hs/2) of each head.
    T = x.shape[0]
    ang = torch.arange(T, dtype=torch.float64)[:, None] * f[None, :]
    cos = torch.cat([ang.cos(), ang.cos()], dim=1)[:, None, :]
    sin = torch.cat([ang.sin(), ang.sin()], dim=1)[:, None, :]
    x = x.view(T, n, hs)
    x1, x2 = x[..., :hs // 2], x[..., hs // 2:]
    rot = torch.cat([-x2, x1], dim=-1)
    return (x * cos + rot * sin).reshape(T, n * hs)


def llama_logits(W, cfg, ids):
    eps = cfg["rms_norm_eps"]
    nh = cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    D = cfg["hidden_size"]
    hs = D // nh
    f = inv_freq(cfg, hs)
    rms = lambda x, w: x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w
    lin = lambda x, p: x @ W[p + ".weight"].T + (W[p + ".bias"] if p + ".bias" in W else 0)
    x = W["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        h = rms(x, W[p + "input_layernorm.weight"])
        q = rope(lin(h, p + "self_attn.q_proj"), nh, hs, f)
        k = rope(lin(h, p + "self_attn.k_proj"), nkv, hs, f)
        v = lin(h, p + "self_attn.v_proj")
        x = x + lin(attention(q, k, v, nh, nkv), p + "self_attn.o_proj")
        h = rms(x, W[p + "post_attention_layernorm.weight"])
        g = lin(h, p + "mlp.gate_proj")
        x = x + lin(torch.nn.functional.silu(g) * lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
    x = rms(x, W["model.norm.weight"])
    head = W["lm_head.weight"] if "lm_head.weight" in W else W["model.embed_tokens.weight"]
    return x @ head.T


def main():
    d = sys.argv[1]
    cfg = json.load(open(d + "/config.json"))
    batch = json.load(open(d + "/batch.json"))
    W = read_safetensors(d + "/model.safetensors")
    for t in W.values():
        t.requires_grad_(True)
    fwd = gpt2_logits if cfg["model_type"] == "gpt2" else llama_logits
    B, T = batch["B"], batch["T"]
    inputs = torch.tensor(batch["inputs"]).view(B, T)
    targets = torch.tensor(batch["targets"]).view(B, T)
    logits = [fwd(W, cfg, inputs[b]) for b in range(B)]
    loss = torch.nn.functional.cross_entropy(torch.cat(logits), targets.reshape(-1), ignore_index=-1)
    loss.backward()

    worst = 0.0
    def check(name, got, want):
        nonlocal worst
        err = (got - want).abs().max().item() / max(want.abs().max().item(), 1e-30)
        worst = max(worst, err)
        flag = "" if err <= TOL else "  <-- exceeds %g" % TOL
        print("%-45s rel %.3g%s" % (name, err, flag))

    go_logits = read_safetensors(d + "/logits.safetensors")["logits"]
    check("logits (sequence 0)", go_logits, logits[0].detach())
    go_loss = json.load(open(d + "/loss.json"))["loss"]
    check("loss", torch.tensor([go_loss]), loss.detach().view(1))
    G = read_safetensors(d + "/grads.safetensors")
    if set(G) != set(W):
        raise SystemExit("gradient names %s differ from checkpoint names %s" % (sorted(G), sorted(W)))
    for name in sorted(W):
        check("grad " + name, G[name], W[name].grad)
    print("worst relative difference %.3g (tolerance %g)" % (worst, TOL))
    sys.exit(0 if worst <= TOL else 1)


if __name__ == "__main__":
    main()
