package textlab

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/ggmi-dev/ggmi/llama"
)

// Float is a float64 that marshals NaN and ±Inf as JSON null and reads
// null back as NaN.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

// Plan is the data of one world, before any training.
type Plan struct {
	K, J, L int
	Seed    uint64
	// Tasks names G's K+J task sources (anchors come from the first K);
	// Unrelated names M's L extra sources.
	Tasks     []string
	Unrelated []string
	// Anchors holds N_k texts of each of the first K task sources, source
	// by source.
	Anchors []string
	// Generator holds M's training texts per source: the K+J task sources,
	// then the L unrelated ones, GeneratorPerSource texts each (a source
	// with fewer train texts is repeated in its seeded order).
	Generator [][]string
	// HeldOut holds the ground-truth evaluation texts of each of the K+J
	// task sources.
	HeldOut [][]string
}

func nameHash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// order returns the indices 0..n−1 in the seeded order of a stream.
func order(n int, stream uint64) []int {
	return rand.New(rand.NewPCG(stream, stream^0x6f72646572)).Perm(n)
}

// Assemble builds the data of the world (K, J, L, seed) from the task and
// unrelated catalogues. With opt.Shuffle the sources are taken in a
// permutation drawn from seed (identical for every K, J and L), otherwise
// in catalogue order. Each source's train texts are taken in an order drawn
// from (seed, source name): the anchors are the first N_k, M's data the
// first GeneratorPerSource. Held-out texts are the first HeldOutPerSource
// of an order drawn from (SplitSeed, source name), the same in every world.
func Assemble(tasks, unrelated []Source, K, J, L int, seed uint64, opt *Options) (*Plan, error) {
	if K < 1 || J < 0 || L < 0 {
		return nil, fmt.Errorf("assemble: need K ≥ 1, J ≥ 0, L ≥ 0 (got %d, %d, %d)", K, J, L)
	}
	if K+J > len(tasks) {
		return nil, fmt.Errorf("assemble: K+J = %d task sources requested, %d available", K+J, len(tasks))
	}
	if L > len(unrelated) {
		return nil, fmt.Errorf("assemble: L = %d unrelated sources requested, %d available", L, len(unrelated))
	}
	ti := make([]int, len(tasks))
	ui := make([]int, len(unrelated))
	for i := range ti {
		ti[i] = i
	}
	for i := range ui {
		ui[i] = i
	}
	if opt.Shuffle {
		ti = order(len(tasks), mix(seed, 0x7a5c))
		ui = order(len(unrelated), mix(seed, 0x0e1a))
	}
	p := &Plan{K: K, J: J, L: L, Seed: seed}
	take := func(src Source, n int, repeat bool) ([]string, error) {
		if len(src.Train) == 0 {
			return nil, fmt.Errorf("assemble: source %s has no train texts", src.Name)
		}
		if !repeat && n > len(src.Train) {
			return nil, fmt.Errorf("assemble: source %s has %d train texts, %d anchors requested", src.Name, len(src.Train), n)
		}
		ord := order(len(src.Train), mix(seed, nameHash(src.Name)))
		out := make([]string, n)
		for i := range out {
			out[i] = src.Train[ord[i%len(ord)]]
		}
		return out, nil
	}
	for i := 0; i < K+J; i++ {
		src := tasks[ti[i]]
		p.Tasks = append(p.Tasks, src.Name)
		if i < K {
			a, err := take(src, opt.AnchorsPerSource, false)
			if err != nil {
				return nil, err
			}
			p.Anchors = append(p.Anchors, a...)
		}
		g, err := take(src, opt.GeneratorPerSource, true)
		if err != nil {
			return nil, err
		}
		p.Generator = append(p.Generator, g)
		if len(src.HeldOut) < opt.HeldOutPerSource {
			return nil, fmt.Errorf("assemble: source %s has %d held-out texts, %d requested", src.Name, len(src.HeldOut), opt.HeldOutPerSource)
		}
		ord := order(len(src.HeldOut), mix(opt.SplitSeed, nameHash(src.Name)))
		h := make([]string, opt.HeldOutPerSource)
		for j := range h {
			h[j] = src.HeldOut[ord[j]]
		}
		p.HeldOut = append(p.HeldOut, h)
	}
	for i := 0; i < L; i++ {
		src := unrelated[ui[i]]
		p.Unrelated = append(p.Unrelated, src.Name)
		g, err := take(src, opt.GeneratorPerSource, true)
		if err != nil {
			return nil, err
		}
		p.Generator = append(p.Generator, g)
	}
	return p, nil
}

// tag is the prompt that marks M's source i.
func tag(i int) string { return fmt.Sprintf("[%d]", i+1) }

// clone returns a copy of m with its own weights.
func clone(m *llama.Model) (*llama.Model, error) {
	c, err := llama.NewModel(m.Config, m.Tokenizer)
	if err != nil {
		return nil, err
	}
	copy(c.Params(), m.Params())
	return c, nil
}

// encodeTexts tokenizes texts as BOS, text, EOS (loss on every token after
// BOS).
func encodeTexts(tok llama.TextTokenizer, texts []string) []llama.Sequence {
	out := make([]llama.Sequence, len(texts))
	for i, t := range texts {
		out[i] = llama.Sequence{Tokens: tok.Encode(t, true, true)}
	}
	return out
}

// finetune trains a copy of base on seqs for steps steps with the options'
// schedule, one goroutine, checking ctx between steps.
func finetune(ctx context.Context, base *llama.Model, seqs []llama.Sequence, steps int, pack bool, seed uint64, opt *Options) (*llama.Model, error) {
	m, err := clone(base)
	if err != nil {
		return nil, err
	}
	tr, err := llama.NewTrainer(m, seqs, nil, llama.TrainConfig{
		BatchSize: opt.Batch, SeqLen: opt.SeqLen, Steps: steps,
		LR: opt.LR, MinLR: opt.MinLR, WarmupSteps: min(opt.Warmup, steps),
		ClipNorm: 1, Pack: pack, Seed: seed, Workers: 1,
	})
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	for i := 0; i < steps; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if _, err := tr.Step(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// TrainAnchorStudent fine-tunes base on the plan's anchors with the
// students' token budget. It depends only on K and the seed.
func TrainAnchorStudent(ctx context.Context, base *llama.Model, p *Plan, opt *Options) (*llama.Model, error) {
	m, err := finetune(ctx, base, encodeTexts(base.Tokenizer, p.Anchors), opt.StudentSteps, true, mix(p.Seed, 0xa5, uint64(p.K)), opt)
	if err != nil {
		return nil, fmt.Errorf("anchor student (K %d, seed %d): %w", p.K, p.Seed, err)
	}
	return m, nil
}

// HeldOutLoss returns the mean token cross-entropy (nats) of m on texts,
// each encoded as BOS, text, EOS and cut to its first seqLen+1 tokens;
// every token after BOS is predicted. tokens is the number of predicted
// tokens.
func HeldOutLoss(m *llama.Model, texts []string, seqLen int) (loss float64, tokens int, err error) {
	if m == nil || m.Tokenizer == nil {
		return 0, 0, fmt.Errorf("held-out loss: model without tokenizer")
	}
	if seqLen < 1 || seqLen > m.Config.SeqLen {
		return 0, 0, fmt.Errorf("held-out loss: sequence length %d outside 1..%d", seqLen, m.Config.SeqLen)
	}
	if len(texts) == 0 {
		return math.NaN(), 0, nil
	}
	const B = 8
	ws, err := m.NewTrainWorkspace(min(B, len(texts)), seqLen, 1)
	if err != nil {
		return 0, 0, fmt.Errorf("held-out loss: %w", err)
	}
	defer ws.Close()
	var sum float64
	for r0 := 0; r0 < len(texts); r0 += B {
		nb := min(B, len(texts)-r0)
		b := llama.Batch{B: nb, T: seqLen, Inputs: make([]int, nb*seqLen), Targets: make([]int, nb*seqLen)}
		for i := 0; i < nb; i++ {
			toks := m.Tokenizer.Encode(texts[r0+i], true, true)
			n := min(len(toks)-1, seqLen)
			for j := 0; j < seqLen; j++ {
				if j < n {
					b.Inputs[i*seqLen+j], b.Targets[i*seqLen+j] = toks[j], toks[j+1]
				} else {
					b.Inputs[i*seqLen+j], b.Targets[i*seqLen+j] = toks[len(toks)-1], -1
				}
			}
		}
		l, n, err := ws.Loss(&b)
		if err != nil {
			return 0, 0, fmt.Errorf("held-out loss: %w", err)
		}
		sum += l * float64(n)
		tokens += n
	}
	if tokens == 0 {
		return math.NaN(), 0, nil
	}
	return sum / float64(tokens), tokens, nil
}

// SourceLoss is the held-out loss of each model on one of G's sources.
type SourceLoss struct {
	Name   string `json:"name"`
	Part   string `json:"part"` // "K" (anchored) or "J" (unsampled)
	Tokens int    `json:"tokens"`
	Base   Float  `json:"base"`   // stories260K before fine-tuning
	Anchor Float  `json:"anchor"` // student on S_anchor
	Gen    Float  `json:"gen"`    // student on S_gen
}

// World is the outcome of one world.
type World struct {
	K         int      `json:"K"`
	J         int      `json:"J"`
	L         int      `json:"L"`
	Seed      uint64   `json:"seed"`
	Tasks     []string `json:"tasks"`
	Unrelated []string `json:"unrelated"`
	// Gap is LossAnchor − LossGen, GapK and GapJ the same on the anchored
	// and the unsampled sources alone (GapJ is NaN when J = 0).
	Gap  Float `json:"gap"`
	GapK Float `json:"gap_K"`
	GapJ Float `json:"gap_J"`
	// Held-out losses averaged over G's sources with equal weights.
	LossAnchor Float        `json:"loss_anchor"`
	LossGen    Float        `json:"loss_gen"`
	LossBase   Float        `json:"loss_base"`
	PerSource  []SourceLoss `json:"per_source"`
	// S_gen: texts, mean tokens per text, the share that ended with EOS,
	// empty texts, and the first few texts.
	GenTexts      int      `json:"gen_texts"`
	GenMeanTokens Float    `json:"gen_mean_tokens"`
	GenEOSShare   Float    `json:"gen_eos_share"`
	GenEmpty      int      `json:"gen_empty"`
	GenSamples    []string `json:"gen_samples"`
	// GeneratorSteps is the length of M's fine-tuning.
	GeneratorSteps int `json:"generator_steps"`
}

// Generate fine-tunes M on the plan's generator data and samples S_gen.
func Generate(ctx context.Context, base *llama.Model, p *Plan, opt *Options) (texts []string, w World, err error) {
	tok := base.Tokenizer
	var exs []llama.Example
	for i, src := range p.Generator {
		pr := ""
		if opt.Prompt == PromptTag {
			pr = tag(i)
		}
		for _, t := range src {
			exs = append(exs, llama.Example{Prompt: pr, Response: " " + t})
		}
	}
	seqs, err := llama.EncodeExamples(tok, exs, true)
	if err != nil {
		return nil, w, fmt.Errorf("generator data: %w", err)
	}
	steps := opt.GeneratorStepsPerSource * len(p.Generator)
	m, err := finetune(ctx, base, seqs, steps, false, mix(p.Seed, 0x6e, uint64(p.K), uint64(p.J), uint64(p.L)), opt)
	if err != nil {
		return nil, w, fmt.Errorf("generator M: %w", err)
	}
	reqs := make([]llama.BatchRequest, opt.Synthetic)
	for i := range reqs {
		pr := ""
		if opt.Prompt == PromptTag {
			pr = tag(i % len(p.Generator))
		}
		reqs[i] = llama.BatchRequest{Prompt: pr, Options: llama.GenerateOptions{
			SampleOptions: llama.SampleOptions{Temperature: float32(opt.Temperature), Seed: mix(p.Seed, 0x5a, uint64(p.K), uint64(p.J), uint64(p.L), uint64(i))},
			MaxTokens:     opt.SeqLen,
		}}
	}
	if err := ctx.Err(); err != nil {
		return nil, w, err
	}
	gens, err := m.GenerateBatch(reqs, 1)
	if err != nil {
		return nil, w, fmt.Errorf("sampling S_gen: %w", err)
	}
	var ntok, eos int
	for _, g := range gens {
		t := strings.TrimSpace(g.Text)
		texts = append(texts, t)
		ntok += len(g.Tokens)
		if g.FinishReason == llama.FinishEOS {
			eos++
		}
		if t == "" {
			w.GenEmpty++
		}
	}
	w.GenTexts = len(texts)
	w.GenMeanTokens = Float(float64(ntok) / float64(max(1, len(texts))))
	w.GenEOSShare = Float(float64(eos) / float64(max(1, len(texts))))
	w.GenSamples = append([]string(nil), texts[:min(3, len(texts))]...)
	w.GeneratorSteps = steps
	return texts, w, nil
}

// RunWorld runs one world given its plan and its anchor student (trained
// by [TrainAnchorStudent] on the same plan's anchors): M, S_gen, the
// student on S_gen, and the held-out losses of both students and of base.
func RunWorld(ctx context.Context, base, anchorStudent *llama.Model, p *Plan, opt *Options) (World, error) {
	gen, w, err := Generate(ctx, base, p, opt)
	if err != nil {
		return w, fmt.Errorf("world K %d J %d L %d seed %d: %w", p.K, p.J, p.L, p.Seed, err)
	}
	w.K, w.J, w.L, w.Seed = p.K, p.J, p.L, p.Seed
	w.Tasks, w.Unrelated = p.Tasks, p.Unrelated
	student, err := finetune(ctx, base, encodeTexts(base.Tokenizer, gen), opt.StudentSteps, true, mix(p.Seed, 0x9e, uint64(p.K), uint64(p.J), uint64(p.L)), opt)
	if err != nil {
		return w, fmt.Errorf("world K %d J %d L %d seed %d: student on S_gen: %w", p.K, p.J, p.L, p.Seed, err)
	}
	var sumA, sumG, sumB [2]float64
	var cnt [2]int
	for i, texts := range p.HeldOut {
		sl := SourceLoss{Name: p.Tasks[i], Part: "K"}
		part := 0
		if i >= p.K {
			sl.Part, part = "J", 1
		}
		var vals [3]float64
		for k, m := range []*llama.Model{base, anchorStudent, student} {
			l, n, err := HeldOutLoss(m, texts, opt.SeqLen)
			if err != nil {
				return w, fmt.Errorf("world K %d J %d L %d seed %d: source %s: %w", p.K, p.J, p.L, p.Seed, p.Tasks[i], err)
			}
			vals[k], sl.Tokens = l, n
		}
		sl.Base, sl.Anchor, sl.Gen = Float(vals[0]), Float(vals[1]), Float(vals[2])
		sumB[part] += vals[0]
		sumA[part] += vals[1]
		sumG[part] += vals[2]
		cnt[part]++
		w.PerSource = append(w.PerSource, sl)
	}
	mean := func(s [2]float64) float64 { return (s[0] + s[1]) / float64(cnt[0]+cnt[1]) }
	w.LossBase, w.LossAnchor, w.LossGen = Float(mean(sumB)), Float(mean(sumA)), Float(mean(sumG))
	w.Gap = w.LossAnchor - w.LossGen
	w.GapK = Float((sumA[0] - sumG[0]) / float64(cnt[0]))
	w.GapJ = Float(math.NaN())
	if cnt[1] > 0 {
		w.GapJ = Float((sumA[1] - sumG[1]) / float64(cnt[1]))
	}
	return w, nil
}
