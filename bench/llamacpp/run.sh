#!/usr/bin/env bash
# Side-by-side speed of ggmi's built-in engine and llama.cpp (Ollama's
# runner, built by build.sh) on the same GGUF files with the same thread
# counts. Creates random-weight llama-family models (stories260K's 512-piece
# SentencePiece vocabulary; output head = permuted embeddings, so greedy
# decoding walks a cycle), saves them as f32 GGUF with ggmi, converts them
# to f16 with llama.cpp's gguf-py (to_f16.py: Ollama quantises only files
# declaring F16) and quantises them with the reference's own quantiser
# (ollama create --quantize), and times:
#   decode tokens/s   256 new tokens after a short prompt ("Once upon a time")
#   prefill tokens/s  a 512-token prompt (a different one each run)
#   peak RSS          VmHWM of the ggmi process / of the llama.cpp runner
# ggmi is timed in-process through llama.Model.GenerateTokens with
# GOMAXPROCS = threads (bench/llamacpp/refbench); llama.cpp through Ollama's
# /api/generate (prompt_eval_* and eval_* durations), raw prompts,
# temperature 0, top_k 1, repeat_penalty 1, seed 42, num_thread, num_ctx 1024.
# Prints one Markdown table of medians of RUNS runs.
#
#   bash bench/llamacpp/run.sh
#   RUNS=3 SIZES="110M 1B" TYPES="f32 q8_0 q4_K_M" THREADS="1 2" bash bench/llamacpp/run.sh
#   SIZES="110M gpt2-110M" TYPES=f32 THREADS=2 bash bench/llamacpp/run.sh   (llama vs gpt2 family)
#
# Environment: RUNS (3), SIZES (110M 1B; also gpt2-110M: GPT-2's block, 768
# wide, 15 blocks, 108M parameters, same vocabulary), TYPES (f32 q8_0 q4_K_M; also f16
# and q4_K_S; f32 is the file ggmi wrote), THREADS (1 2), DECODE (256),
# PROMPT (512), WORK (scratch dir, default a temp dir; the models are
# large: the 1B f32 file is 3.9 GB, and Ollama keeps its own copy).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/ensure-go.sh
runs=${RUNS:-3}
sizes=${SIZES:-110M 1B}
types=${TYPES:-f32 q8_0 q4_K_M}
threads=${THREADS:-1 2}
decode=${DECODE:-256}
promptn=${PROMPT:-512}
tokfile=${TOKENIZER:-../shared/models/stories260K/tok512.bin}

ollama=$(bash bench/llamacpp/build.sh)
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
go build -o "$work/refbench" ./bench/llamacpp/refbench

port=$((11500 + RANDOM % 400))
export OLLAMA_HOST=127.0.0.1:$port OLLAMA_MODELS=$work/ollama-models OLLAMA_NOPRUNE=1
HOME=$work nice -n 10 "$ollama" serve >"$work/serve.log" 2>&1 &
serve=$!
cleanup() { kill "$serve" 2>/dev/null || true; wait "$serve" 2>/dev/null || true; [ -n "${WORK:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 100); do curl -sf "http://$OLLAMA_HOST/api/version" >/dev/null && break; sleep 0.2; done
ol() { HOME=$work "$ollama" "$@"; }

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
: >"$work/results.jsonl"
for size in $sizes; do
	f32=$work/rand-$size-f32.gguf
	[ -f "$f32" ] || nice -n 10 "$work/refbench" mkmodel -size "$size" -tokenizer "$tokfile" -out "$f32" >&2
	for type in $types; do
		name=rand-${size,,}-${type,,}
		src=$f32 q=(--quantize "$type")
		if [ "$type" != f32 ]; then
			# Ollama quantises only files declaring file type F16 (it reads
			# 0, ALL_F32, as unknown): convert with llama.cpp's gguf-py.
			src=$work/rand-$size-f16.gguf
			[ -f "$src" ] || PYTHONPATH=$(dirname "$(dirname "$ollama")")/llama.cpp/gguf-py \
				nice -n 10 /usr/bin/python3 bench/llamacpp/to_f16.py "$f32" "$src"
		fi
		case $type in f32 | f16) q=() ;; esac
		printf 'FROM %s\n' "$src" >"$work/Modelfile"
		if ! ol create "$name" -f "$work/Modelfile" "${q[@]}" >"$work/create.log" 2>&1; then
			echo "run.sh: the reference could not import/quantise $size to $type:" >&2
			tail -3 "$work/create.log" >&2
			exit 1
		fi
		file=$(ol show --modelfile "$name" | awk '/^FROM \// {print $2; exit}')
		echo "$size $type: $file ($(du -m "$file" | cut -f1) MB)" >&2
		for t in $threads; do
			nice -n 10 "$work/refbench" ggmi -model "$file" -threads "$t" -runs "$runs" -decode "$decode" -prompt "$promptn" |
				sed "s/^{/{\"size\":\"$size\",\"type\":\"$type\",/" | tee -a "$work/results.jsonl" >&2
			nice -n 10 "$work/refbench" ollama -host "$OLLAMA_HOST" -serve-pid "$serve" -name "$name" -tokenizer "$tokfile" \
				-threads "$t" -runs "$runs" -decode "$decode" -prompt "$promptn" |
				sed "s/^{/{\"size\":\"$size\",\"type\":\"$type\",/" | tee -a "$work/results.jsonl" >&2
		done
	done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2

# One table row per size, type and thread count: medians, ratios ggmi/llama.cpp.
/usr/bin/python3 - "$work/results.jsonl" "$runs" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(v): return statistics.median(v) if v else None
def f(x): return "–" if x is None else (f"{x:.1f}" if x < 100 else f"{x:.0f}")
def ratio(a, b): return "–" if a is None or b is None else f"{a / b:.2f}"
print(f"Medians of {sys.argv[2]} runs; ggmi/llama.cpp ratios; tokens/s; peak RSS in MB.\n")
print("| model | type | threads | ggmi decode | llama.cpp decode | ratio | ggmi prefill | llama.cpp prefill | ratio | RSS ggmi | RSS llama.cpp |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
keys = []
for r in rows:
    k = (r["size"], r["type"], r["threads"])
    if k not in keys: keys.append(k)
for k in keys:
    g = next((r for r in rows if (r["size"], r["type"], r["threads"]) == k and r["engine"] == "ggmi"), {})
    l = next((r for r in rows if (r["size"], r["type"], r["threads"]) == k and r["engine"] == "llama.cpp"), {})
    if g.get("error"):
        gd = gp = None; gds = gps = "refused"
    else:
        gd, gp = med(g.get("decode_tps")), med(g.get("prefill_tps")); gds, gps = f(gd), f(gp)
    ld, lp = med(l.get("decode_tps")), med(l.get("prefill_tps"))
    print(f"| {k[0]} | {k[1]} | {k[2]} | {gds} | {f(ld)} | {ratio(gd, ld)} | {gps} | {f(lp)} | {ratio(gp, lp)} | {g.get('peak_rss_mb', 0):.0f} | {l.get('peak_rss_mb', 0):.0f} |")
errs = {r["error"] for r in rows if r.get("error")}
for e in errs: print(f"\nggmi: {e}")
PY
