package llama

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// modelDir returns the directory holding the stories260K reference files,
// skipping the test when it is absent.
func modelDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "models", "stories260K")
	if _, err := os.Stat(filepath.Join(dir, "stories260K.bin")); err != nil {
		t.Skipf("reference model folder %s not available: %v", dir, err)
	}
	return dir
}

var (
	binOnce, ggufOnce   sync.Once
	binModel, ggufModel *Model
	binErr, ggufErr     error
)

// loadBin loads stories260K.bin with tok512.bin once per test binary.
func loadBin(t testing.TB) *Model {
	t.Helper()
	dir := modelDir(t)
	binOnce.Do(func() {
		binModel, binErr = LoadLlama2c(filepath.Join(dir, "stories260K.bin"), filepath.Join(dir, "tok512.bin"))
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binModel
}

// loadGGUF loads stories260K.gguf once per test binary.
func loadGGUF(t testing.TB) *Model {
	t.Helper()
	dir := modelDir(t)
	ggufOnce.Do(func() {
		ggufModel, ggufErr = LoadGGUF(filepath.Join(dir, "stories260K.gguf"))
	})
	if ggufErr != nil {
		t.Fatal(ggufErr)
	}
	return ggufModel
}

type greedyCase struct {
	Prompt      string  `json:"prompt"`
	Steps       int     `json:"steps"`
	Temperature float64 `json:"temperature"`
	Output      string  `json:"output"`
}

func loadGreedyCases(t testing.TB) []greedyCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(modelDir(t), "expected_greedy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []greedyCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("expected_greedy.json holds no cases")
	}
	return cases
}

// llama2cOutput reproduces what the reference C program prints for a run of
// `steps` positions: the prompt pieces after BOS, then the generated pieces
// (single non-printable bytes suppressed), then a newline.
func llama2cOutput(t testing.TB, m *Model, prompt string, steps int) string {
	t.Helper()
	if steps <= 0 || steps > m.Config.SeqLen {
		steps = m.Config.SeqLen
	}
	toks := m.sp().Encode(prompt, true, false)
	g, err := m.GenerateTokens(toks, GenerateOptions{MaxTokens: steps - len(toks) + 1})
	if err != nil {
		t.Fatal(err)
	}
	all := append(append([]int{}, toks...), g.Tokens...)
	if len(all) > steps+1 {
		t.Fatalf("generated %d positions for steps=%d", len(all), steps)
	}
	var sb strings.Builder
	for i := 1; i < len(all); i++ {
		if p := m.sp().Piece(all[i-1], all[i]); PrintablePiece(p) {
			sb.WriteString(p)
		}
	}
	sb.WriteString("\n")
	return sb.String()
}

// sp returns the model's SentencePiece tokenizer (nil for another kind).
func (m *Model) sp() *Tokenizer {
	t, _ := m.Tokenizer.(*Tokenizer)
	return t
}
