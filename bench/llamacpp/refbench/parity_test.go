package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ggmi-dev/ggmi/internal/testshared"
	"github.com/ggmi-dev/ggmi/llama"
	"github.com/ggmi-dev/ggmi/tokenizer"
)

// Parity with llama.cpp (Ollama's runner, built by bench/llamacpp/build.sh).
// The tests run when the runner is found: $GGMI_LLAMACPP (the ollama
// binary) or the default cache of build.sh. CI does not build it (about 10
// minutes), so there they skip.
//
//	GGMI_LLAMACPP=/work/.cache/ollama-ref/bin/ollama go test ./bench/llamacpp/refbench -run Parity -v
//	... -run TestParityFamilies   (gpt2 and qwen2 GGUF files written by ggmi, real BPE vocabularies)
//	GGMI_PARITY_GGUF=model.gguf ... -run TestParityFile   (any GGUF both engines load)

func ollamaBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("GGMI_LLAMACPP")
	if bin == "" {
		bin = "/work/.cache/ollama-ref/bin/ollama"
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("llama.cpp reference runner not found (%s): build it with bench/llamacpp/build.sh and set GGMI_LLAMACPP", bin)
	}
	return bin
}

// refServer is an `ollama serve` with its own model store.
type refServer struct {
	bin, host string
	env       []string
}

func startRef(t *testing.T) *refServer {
	t.Helper()
	bin := ollamaBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	s := &refServer{bin: bin, host: host, env: append(os.Environ(),
		"OLLAMA_HOST="+host, "OLLAMA_MODELS="+filepath.Join(dir, "models"), "HOME="+dir,
		"OLLAMA_NOPRUNE=1", "OLLAMA_KEEP_ALIVE=10m")}
	cmd := exec.Command(bin, "serve")
	cmd.Env = s.env
	log, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// SIGTERM lets ollama serve stop its runners; SIGKILL would orphan them.
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("ollama serve log (tail):\n%s", b)
		}
	})
	for range 100 {
		if resp, err := http.Get("http://" + host + "/api/version"); err == nil {
			resp.Body.Close()
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("ollama serve did not start")
	return nil
}

// create imports gguf as name, quantised to quant when not empty, and
// returns the path of the model file the reference loads.
func (s *refServer) create(t *testing.T, name, gguf, quant string) string {
	t.Helper()
	mf := filepath.Join(t.TempDir(), "Modelfile")
	if err := os.WriteFile(mf, []byte("FROM "+gguf+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"create", name, "-f", mf}
	if quant != "" {
		args = append(args, "--quantize", quant)
	}
	s.run(t, args...)
	out := s.run(t, "show", "--modelfile", name)
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "FROM "); ok && strings.HasPrefix(p, "/") {
			return strings.TrimSpace(p)
		}
	}
	t.Fatalf("no FROM line in the modelfile of %s:\n%s", name, out)
	return ""
}

func (s *refServer) run(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(s.bin, args...)
	cmd.Env = s.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("ollama %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// step is one greedy token: its text and log-probability.
type step struct {
	Piece   string
	Logprob float64
}

// refGreedy asks the reference for n greedy tokens after prompt (BOS is
// added by its tokenizer) with their log-probabilities.
func (s *refServer) refGreedy(t *testing.T, name, prompt string, n int) []step {
	t.Helper()
	req := map[string]any{"model": name, "prompt": prompt, "raw": true, "stream": false,
		"logprobs": true,
		"options": map[string]any{"temperature": 0, "top_k": 1, "seed": 42, "repeat_penalty": 1.0,
			"num_thread": 2, "num_ctx": 512, "num_predict": n}}
	b, _ := json.Marshal(req)
	resp, err := http.Post("http://"+s.host+"/api/generate", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var g struct {
		Response string `json:"response"`
		Logprobs []struct {
			Token   string  `json:"token"`
			Logprob float64 `json:"logprob"`
		} `json:"logprobs"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &g); err != nil || g.Error != "" {
		t.Fatalf("reference generate: %v %s", err, body)
	}
	out := make([]step, len(g.Logprobs))
	for i, l := range g.Logprobs {
		out[i] = step{l.Token, l.Logprob}
	}
	return out
}

// ggmiGreedy runs n greedy steps of m after prompt (with BOS), stopping at
// EOS as the reference does.
func ggmiGreedy(t *testing.T, m *llama.Model, prompt string, n int) []step {
	t.Helper()
	tok := m.Tokenizer
	p := tok.Encode(prompt, true, false)
	st := m.NewStateN(len(p) + n)
	var logits []float32
	var err error
	for pos, id := range p {
		if logits, err = st.Forward(id, pos); err != nil {
			t.Fatal(err)
		}
	}
	var out []step
	prev := p[len(p)-1]
	for i := 0; i < n; i++ {
		next := llama.Argmax(logits)
		if next == tok.EOSID() {
			break
		}
		out = append(out, step{tok.Piece(prev, next), llama.LogSoftmaxAt(logits, next)})
		prev = next
		if i+1 < n {
			if logits, err = st.Forward(next, len(p)+i); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

// compare checks equal pieces for every step and, when tol > 0,
// log-probabilities within tol nats; it returns the largest difference.
func compare(t *testing.T, ref, got []step, n int, tol float64) float64 {
	t.Helper()
	if len(ref) != len(got) {
		t.Errorf("reference gave %d tokens, ggmi %d (want %d)", len(ref), len(got), n)
	}
	worst := 0.0
	for i := range min(len(ref), len(got)) {
		if ref[i].Piece != got[i].Piece {
			t.Errorf("step %d: reference %q, ggmi %q", i, ref[i].Piece, got[i].Piece)
			return worst
		}
		d := math.Abs(ref[i].Logprob - got[i].Logprob)
		worst = math.Max(worst, d)
		if tol > 0 && d > tol {
			t.Errorf("step %d (%q): log-prob reference %.4f, ggmi %.4f, |Δ| %.4f > %.2f", i, ref[i].Piece, ref[i].Logprob, got[i].Logprob, d, tol)
		}
	}
	return worst
}

// parityFile loads path in both engines (imported unchanged into the
// reference) and compares n greedy steps.
func parityFile(t *testing.T, s *refServer, path, prompt string, n int, tol float64) {
	t.Helper()
	m, err := llama.Load(path)
	if err != nil {
		t.Fatalf("ggmi cannot load %s: %v", path, err)
	}
	name := fmt.Sprintf("parity-%d", time.Now().UnixNano())
	s.create(t, name, path, "")
	ref := s.refGreedy(t, name, prompt, n)
	got := ggmiGreedy(t, m, prompt, n)
	worst := compare(t, ref, got, n, tol)
	t.Logf("%s: %d greedy steps compared, largest log-prob difference %.2g nats", filepath.Base(path), len(got), worst)
}

// TestParityFile compares any GGUF given in $GGMI_PARITY_GGUF (a family
// ggmi loads: llama, and gpt2 / qwen2 where supported): 32 greedy tokens.
func TestParityFile(t *testing.T) {
	path := os.Getenv("GGMI_PARITY_GGUF")
	if path == "" {
		t.Skip("set GGMI_PARITY_GGUF to a GGUF file to compare it with llama.cpp")
	}
	s := startRef(t)
	prompt := os.Getenv("GGMI_PARITY_PROMPT")
	if prompt == "" {
		prompt = "Once upon a time"
	}
	parityFile(t, s, path, prompt, 32, 0)
}

// TestParityStories260K: stories260K re-saved by ggmi as GGUF (f32) loads
// in llama.cpp unchanged and both give the same greedy tokens.
func TestParityStories260K(t *testing.T) {
	s := startRef(t)
	m := testshared.Stories(t)
	path := filepath.Join(t.TempDir(), "stories260K.gguf")
	if err := m.SaveGGUF(path); err != nil {
		t.Fatal(err)
	}
	parityFile(t, s, path, "Once upon a time", 32, 0)
}

// toF16 runs bench/llamacpp/convert.py with the gguf-py of the llama.cpp
// sources that build.sh unpacks next to the runner.
func toF16(t *testing.T, src, dst string) {
	t.Helper()
	gguf := filepath.Join(filepath.Dir(filepath.Dir(ollamaBinary(t))), "llama.cpp", "gguf-py")
	if _, err := os.Stat(gguf); err != nil {
		t.Skipf("llama.cpp's gguf-py not found at %s (build.sh unpacks it)", gguf)
	}
	cmd := exec.Command("/usr/bin/python3", "../convert.py", src, dst, "f16")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+gguf)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("convert.py failed (needs Debian python3-numpy): %v\n%s", err, out)
	}
}

// TestParityQuantized: a random cycle model saved by ggmi (f32, converted
// to f16 by gguf-py) is quantised by the reference's own quantiser to q8_0 (same greedy tokens
// for 32 steps) and q4_K_M (token log-probs within 0.02 nats), and ggmi
// loads the quantised files.
func TestParityQuantized(t *testing.T) {
	s := startRef(t)
	tok, err := llama.LoadLlama2cTokenizer(testshared.Path(t, "models", "stories260K", "tok512.bin"), 512)
	if err != nil {
		t.Fatal(err)
	}
	cfg := shapes["tiny"]
	cfg.VocabSize = tok.VocabSize()
	m, err := NewCycleModel(cfg, tok, 7, 6)
	if err != nil {
		t.Fatal(err)
	}
	f32 := filepath.Join(t.TempDir(), "cycle-f32.gguf")
	if err := m.SaveGGUF(f32); err != nil {
		t.Fatal(err)
	}
	// Ollama quantises only files declaring file type F16 (it reads 0,
	// ALL_F32, as unknown): convert with llama.cpp's gguf-py first.
	f16 := filepath.Join(t.TempDir(), "cycle-f16.gguf")
	toF16(t, f32, f16)
	prompt := "Once upon a time there was a little girl"
	for _, tc := range []struct {
		quant string
		tol   float64
	}{{"q8_0", 0}, {"q4_K_M", 0.02}} {
		t.Run(tc.quant, func(t *testing.T) {
			name := "cycle-" + strings.ToLower(tc.quant)
			path := s.create(t, name, f16, tc.quant)
			qm, err := llama.Load(path)
			if err != nil {
				t.Fatalf("ggmi cannot load the reference's %s file: %v", tc.quant, err)
			}
			ref := s.refGreedy(t, name, prompt, 32)
			got := ggmiGreedy(t, qm, prompt, 32)
			worst := compare(t, ref, got, 32, tc.tol)
			t.Logf("%s: %d greedy steps, largest log-prob difference %.2g nats", tc.quant, len(got), worst)
		})
	}
}

// bpeShapes are the small gpt2 and qwen2 models of TestParityFamilies
// (the vocabulary is the real one, so the embeddings dominate the size).
var bpeShapes = map[string]llama.Config{
	llama.ArchGPT2:  {Dim: 64, HiddenDim: 256, NLayers: 2, NHeads: 4, NKVHeads: 4, SeqLen: 1024, NormEps: 1e-5},
	llama.ArchQwen2: {Dim: 64, HiddenDim: 192, NLayers: 2, NHeads: 4, NKVHeads: 2, SeqLen: 1024, NormEps: 1e-6, RopeTheta: 1e6, RopeNeoX: true},
}

// TestParityFamilies: random cycle models of the gpt2 family (GPT-2's real
// vocabulary, encoder.json + vocab.bpe) and the qwen2 family (Qwen3's real
// tokenizer.json), saved by ggmi as f32 GGUF files, load in llama.cpp
// unchanged and both engines give the same 32 greedy tokens (and
// log-probabilities within 1e-3 nats).
func TestParityFamilies(t *testing.T) {
	s := startRef(t)
	for _, c := range []struct{ arch, tokDir string }{{llama.ArchGPT2, "gpt2"}, {llama.ArchQwen2, "qwen3"}} {
		t.Run(c.arch, func(t *testing.T) {
			bpe, err := tokenizer.LoadDir(testshared.Path(t, "tokenizers", c.tokDir))
			if err != nil {
				t.Fatal(err)
			}
			tok := tokenizer.Engine{BPE: bpe}
			cfg, err := llama.FamilyConfig(bpeShapes[c.arch], c.arch)
			if err != nil {
				t.Fatal(err)
			}
			cfg.VocabSize = tok.VocabSize()
			m, err := NewCycleModelOver(cfg, tok, PrintableTokens(tok), 7, 6)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "cycle-"+c.arch+".gguf")
			if err := m.SaveGGUF(path); err != nil {
				t.Fatal(err)
			}
			parityFile(t, s, path, "Once upon a time there was a little girl", 32, 1e-3)
		})
	}
}
