#!/usr/bin/env bash
# Side-by-side speed of ggmi's built-in engine and llama.cpp (Ollama's
# runner, built by build.sh) on the same GGUF files with the same thread
# counts. Creates random-weight llama-family models (stories260K's 512-piece
# SentencePiece vocabulary; output head = permuted embeddings, so greedy
# decoding walks a cycle), saves them as f32 GGUF with ggmi, and makes the
# other types from that file:
#   f16, q4_0, q4_1, q5_0, q5_1   llama.cpp's gguf-py (convert.py; Ollama
#                                 0.17.4 cannot quantise to these), imported
#                                 into Ollama unchanged
#   q8_0, q4_K_M, q4_K_S          the reference's own quantiser (ollama create
#                                 --quantize) from the f16 file
# and times:
#   decode tokens/s   256 new tokens after a short prompt ("Once upon a time")
#   prefill tokens/s  a 512-token prompt (a different one each run)
#   peak RSS          VmHWM of the ggmi process / of the llama.cpp runner
# ggmi is timed in-process through llama.Model.GenerateTokens with
# GOMAXPROCS = threads (bench/llamacpp/refbench); llama.cpp through Ollama's
# /api/generate (prompt_eval_* and eval_* durations), raw prompts,
# temperature 0, top_k 1, repeat_penalty 1, seed 42, num_thread, num_ctx 1024.
# Every measurement appends one JSON row (run id, load average, size, type,
# engine, threads, the per-run figures or the error) to $WORK/results.jsonl,
# which is kept across runs; a type the reference cannot make or a failed
# measurement is reported in its row and the run goes on. At the end it
# prints one Markdown table of this run's medians.
#
#   bash bench/llamacpp/run.sh
#   RUNS=3 SIZES="110M 1B" TYPES="f32 q8_0 q4_0 q4_K_M" THREADS="1 2" bash bench/llamacpp/run.sh
#   SIZES="110M gpt2-110M" TYPES=f32 THREADS=2 bash bench/llamacpp/run.sh   (llama vs gpt2 family)
#   WORK=dir TABLE=20261206T031500Z bash bench/llamacpp/run.sh   (table of an earlier run only)
#
# Environment: RUNS (3), SIZES (110M 1B; also gpt2-110M: GPT-2's block, 768
# wide, 15 blocks, 108M parameters, same vocabulary), TYPES (f32 q8_0 q4_0
# q4_K_M; f32 is the file ggmi wrote), THREADS (1 2), DECODE (256), PROMPT
# (512), KV (ggmi's key/value cache type, f32 or f16; llama.cpp's is f16 in
# Ollama), RUN_ID (UTC time of the start), TABLE (print the table of that run
# id and exit), REBUILD (1: quantise again models an earlier run left in
# WORK), WORK (scratch dir, default a temp dir; the models are large: the 1B
# f32 file is 3.9 GB, and Ollama keeps its own copy).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/ensure-go.sh
runs=${RUNS:-3}
sizes=${SIZES:-110M 1B}
types=${TYPES:-f32 q8_0 q4_0 q4_K_M}
threads=${THREADS:-1 2}
decode=${DECODE:-256}
promptn=${PROMPT:-512}
kv=${KV:-f32}
tokfile=${TOKENIZER:-../shared/models/stories260K/tok512.bin}
run_id=${TABLE:-${RUN_ID:-$(date -u +%Y%m%dT%H%M%SZ)}}

work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
if [ -z "${TABLE:-}" ]; then
ollama=$(bash bench/llamacpp/build.sh)
gguf_py=$(dirname "$(dirname "$ollama")")/llama.cpp/gguf-py
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
results=$work/results.jsonl
echo "run $run_id: appending to $results" >&2
jstr() { /usr/bin/python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"; }
# emit ENGINE SIZE TYPE THREADS JSON|"" ERRFILE: appends one row with the
# run id, the load average and, when the measurement failed, its error.
emit() {
	local load row
	load=$(cut -d' ' -f1 /proc/loadavg)
	if [ -n "$5" ]; then
		row=${5/#\{/\{\"run\":\"$run_id\",\"size\":\"$2\",\"type\":\"$3\",\"load\":$load,}
	else
		row="{\"run\":\"$run_id\",\"size\":\"$2\",\"type\":\"$3\",\"load\":$load,\"engine\":\"$1\",\"threads\":$4,\"error\":$(jstr "$(tail -3 "$6" | tr '\n' ' ')")}"
	fi
	echo "$row" | tee -a "$results" >&2
}
for size in $sizes; do
	f32=$work/rand-$size-f32.gguf
	if [ ! -f "$f32" ] && ! nice -n 10 "$work/refbench" mkmodel -size "$size" -tokenizer "$tokfile" -out "$f32.tmp" >&2; then
		echo "run.sh: could not write the $size model" >&2
		continue
	fi
	[ -f "$f32" ] || mv "$f32.tmp" "$f32"
	for type in $types; do
		name=rand-${size,,}-${type,,}
		src=$f32 q=()
		case $type in
		f32) ;;
		f16 | q4_0 | q4_1 | q5_0 | q5_1)
			# Written by llama.cpp's gguf-py (convert.py): Ollama 0.17.4
			# quantises only to q8_0/q4_K_S/q4_K_M; imported unchanged.
			src=$work/rand-$size-$type.gguf ;;
		*)
			# Quantised by the reference (ollama create --quantize), which
			# takes only files declaring file type F16 (it reads 0, ALL_F32,
			# as unknown): the f16 file from gguf-py is its input.
			src=$work/rand-$size-f16.gguf q=(--quantize "$type") ;;
		esac
		err=$work/row.err
		if [ ! -f "$src" ]; then
			want=${src##*-}
			want=${want%.gguf}
			if ! PYTHONPATH=$gguf_py nice -n 10 /usr/bin/python3 bench/llamacpp/convert.py "$f32" "$src.tmp" "$want" >"$err" 2>&1; then
				rm -f "$src.tmp"
				for t in $threads; do emit ggmi "$size" "$type" "$t" "" "$err"; emit llama.cpp "$size" "$type" "$t" "" "$err"; done
				continue
			fi
			mv "$src.tmp" "$src"
		fi
		printf 'FROM %s\n' "$src" >"$work/Modelfile"
		# A model made by an earlier run in the same WORK is reused (the
		# files are deterministic); REBUILD=1 makes it again.
		if [ -z "${REBUILD:-}" ] && ol show --modelfile "$name" >/dev/null 2>&1; then
			:
		elif ! ol create "$name" -f "$work/Modelfile" "${q[@]}" >"$work/create.log" 2>&1; then
			# The reference cannot import or quantise this type: report the
			# rows as failed and go on with the next type.
			tr '\r' '\n' <"$work/create.log" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' | grep -v '^ *$' | tail -1 >"$err"
			for t in $threads; do emit ggmi "$size" "$type" "$t" "" "$err"; emit llama.cpp "$size" "$type" "$t" "" "$err"; done
			continue
		fi
		file=$(ol show --modelfile "$name" | awk '/^FROM \// {print $2; exit}')
		echo "$size $type: $file ($(du -m "$file" | cut -f1) MB)" >&2
		for t in $threads; do
			if out=$(nice -n 10 "$work/refbench" ggmi -model "$file" -threads "$t" -runs "$runs" -decode "$decode" -prompt "$promptn" -kv "$kv" 2>"$err"); then
				emit ggmi "$size" "$type" "$t" "$out" ""
			else
				emit ggmi "$size" "$type" "$t" "" "$err"
			fi
			if out=$(nice -n 10 "$work/refbench" ollama -host "$OLLAMA_HOST" -serve-pid "$serve" -name "$name" -tokenizer "$tokfile" \
				-threads "$t" -runs "$runs" -decode "$decode" -prompt "$promptn" 2>"$err"); then
				emit llama.cpp "$size" "$type" "$t" "$out" ""
			else
				emit llama.cpp "$size" "$type" "$t" "" "$err"
			fi
		done
	done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
fi

# One table row per size, type and thread count of this run: medians,
# ratios ggmi/llama.cpp; a failed measurement shows "failed" and its error
# below the table.
/usr/bin/python3 - "$work/results.jsonl" "$run_id" <<'PY'
import json, statistics, sys
rows = [r for r in map(json.loads, open(sys.argv[1])) if r.get("run") == sys.argv[2]]
if not rows:
    sys.exit(f"run.sh: no results of run {sys.argv[2]} in {sys.argv[1]}")
def med(v): return statistics.median(v) if v else None
def f(x): return "–" if x is None else (f"{x:.2f}" if x < 1 else f"{x:.1f}" if x < 100 else f"{x:.0f}")
def ratio(a, b): return "–" if a is None or b is None else f"{a / b:.2f}"
def rss(r): return f"{r['peak_rss_mb']:.0f}" if r.get("peak_rss_mb") else "–"
nruns = max((len(r.get("decode_tps") or []) for r in rows), default=0)
loads = [r["load"] for r in rows if "load" in r]
print(f"Run {sys.argv[2]}: medians of {nruns} runs; ggmi/llama.cpp ratios; tokens/s; peak RSS in MB; "
      f"load average (1 min) {min(loads):.1f}–{max(loads):.1f} at the rows' ends.\n")
print("| model | type | threads | ggmi decode | llama.cpp decode | ratio | ggmi prefill | llama.cpp prefill | ratio | RSS ggmi | RSS llama.cpp |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
keys, errs = [], []
for r in rows:
    k = (r["size"], r["type"], r["threads"])
    if k not in keys: keys.append(k)
    if r.get("error"):
        e = f"{r['engine']} {r['size']} {r['type']}: {r['error'].strip()}"
        if e not in errs: errs.append(e)
def cell(r):
    if not r: return None, None, "–", "–"
    if r.get("error"): return None, None, "failed", "failed"
    d, p = med(r.get("decode_tps")), med(r.get("prefill_tps"))
    return d, p, f(d), f(p)
for k in keys:
    pick = lambda e: next((r for r in reversed(rows) if (r["size"], r["type"], r["threads"]) == k and r["engine"] == e), {})
    g, l = pick("ggmi"), pick("llama.cpp")
    gd, gp, gds, gps = cell(g)
    ld, lp, lds, lps = cell(l)
    print(f"| {k[0]} | {k[1]} | {k[2]} | {gds} | {lds} | {ratio(gd, ld)} | {gps} | {lps} | {ratio(gp, lp)} | {rss(g)} | {rss(l)} |")
for e in errs: print(f"\n{e}")
PY
