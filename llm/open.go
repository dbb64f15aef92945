package llm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ggmi-dev/ggmi/llama"
)

// OpenOptions configure Open.
type OpenOptions struct {
	// Context bounds the download of an hf:// built-in model
	// (context.Background() when nil).
	Context context.Context
	// Name is the model name of a built-in model (the file's base name
	// without extension when empty).
	Name string
	// Workers is the built-in engine's number of concurrent sequences.
	Workers int
	// Threads is the number of cores the built-in engine uses (see
	// BuiltinOptions.Threads).
	Threads int
	// Template renders chat requests for a built-in model
	// (DefaultChatTemplate when nil).
	Template *ChatTemplate
	// APIKeyEnv names the environment variable holding a remote
	// endpoint's key (DefaultAPIKeyEnv when empty).
	APIKeyEnv string
	// Mode is a remote endpoint's ModeAuto, ModeChat or ModeCompletion.
	Mode string
}

// Opened is a backend opened from a ModelSpec.
type Opened struct {
	Backend Backend
	// Model is the built-in engine's model (nil for a remote endpoint).
	Model *llama.Model
	// Identity names the model for durable cache keys: the SHA-256 of a
	// built-in model's file (its hf:// URI when downloaded: pin a
	// revision for a stable identity), or the remote endpoint and model.
	Identity string
}

// Close releases a built-in engine's workers.
func (o *Opened) Close() error {
	if c, ok := o.Backend.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Open returns a backend for spec: the built-in engine with the model
// loaded (a file or an hf:// URI), or the OpenAI-compatible client of a
// remote endpoint. Nothing is contacted for a remote endpoint.
func Open(spec ModelSpec, opt OpenOptions) (*Opened, error) {
	switch spec.Kind {
	case SpecRemote:
		b, err := NewOpenAI(OpenAIOptions{BaseURL: spec.BaseURL, Model: spec.Model, APIKeyEnv: opt.APIKeyEnv, Mode: opt.Mode})
		if err != nil {
			return nil, err
		}
		return &Opened{Backend: b, Identity: BackendIdentity(b)}, nil
	case SpecBuiltin:
		name := opt.Name
		if name == "" {
			name = ModelName(spec.Path)
		}
		id, err := fileIdentity(spec.Path, name)
		if err != nil {
			return nil, err
		}
		ctx := opt.Context
		if ctx == nil {
			ctx = context.Background()
		}
		m, err := LoadModel(ctx, spec.Path)
		if err != nil {
			return nil, fmt.Errorf("load model: %w", err)
		}
		b, err := NewBuiltin(m, BuiltinOptions{Name: name, Workers: opt.Workers, Threads: opt.Threads, Template: opt.Template})
		if err != nil {
			return nil, err
		}
		return &Opened{Backend: b, Model: m, Identity: id}, nil
	}
	return nil, fmt.Errorf("model spec of unknown kind %q", spec.Kind)
}

// ModelName is the default name of a built-in model: its file's base name
// without extension.
func ModelName(path string) string {
	base := filepath.Base(strings.TrimPrefix(path, "hf://"))
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// fileIdentity names a built-in model by its weights.
func fileIdentity(path, name string) (string, error) {
	if strings.HasPrefix(path, "hf://") {
		return "builtin:" + path + "|" + name, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("model file %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("model file %s: %w", path, err)
	}
	return "builtin:sha256:" + hex.EncodeToString(h.Sum(nil)) + "|" + name, nil
}
