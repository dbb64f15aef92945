package batch

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Operations of ledger lines.
const (
	opLedger   = "ledger"    // first line: the ledger's nonce (makes tags unique)
	opIntent   = "intent"    // a batch is about to be created: its tag and ids
	opSubmit   = "submitted" // the provider created it: its batch id
	opVoid     = "void"      // a killed creation that never reached the provider
	opIngested = "ingested"  // its results are in the cache
)

// entry is one line of the ledger.
type entry struct {
	Op       string            `json:"op"`
	Nonce    string            `json:"nonce,omitempty"`
	Provider string            `json:"provider,omitempty"`
	Tag      string            `json:"tag,omitempty"`
	Time     time.Time         `json:"time,omitzero"`
	IDs      []string          `json:"ids,omitempty"`
	Batch    string            `json:"batch,omitempty"`
	State    string            `json:"state,omitempty"`
	OK       int               `json:"ok,omitempty"`
	Failed   map[string]string `json:"failed,omitempty"` // custom id → reason
}

// record is the state of one batch as the ledger tells it.
type record struct {
	tag      string
	time     time.Time
	ids      []string
	batch    string // provider's id once submitted
	void     bool
	ingested bool
	state    string
	failed   map[string]string
}

// ledger is the append-only journal of a run's batches.
type ledger struct {
	path    string
	f       *os.File
	nonce   string
	records []*record
	byTag   map[string]*record
}

// openLedger reads the ledger at path (a torn last line is dropped) and
// opens it for appending.
func openLedger(path, provider string) (*ledger, error) {
	l := &ledger{path: path, byTag: map[string]*record{}}
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("batch: read ledger: %w", err)
	}
	good := 0
	for len(b[good:]) > 0 {
		i := bytes.IndexByte(b[good:], '\n')
		if i < 0 {
			break // torn last line
		}
		line := b[good : good+i]
		var e entry
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("batch: ledger %s is damaged at byte %d: %v", path, good, err)
		}
		if err := l.apply(e, provider); err != nil {
			return nil, err
		}
		good += i + 1
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("batch: open ledger: %w", err)
	}
	if err := f.Truncate(int64(good)); err != nil {
		f.Close()
		return nil, fmt.Errorf("batch: ledger: %w", err)
	}
	if _, err := f.Seek(int64(good), io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("batch: ledger: %w", err)
	}
	l.f = f
	if l.nonce == "" {
		var r [6]byte
		_, _ = rand.Read(r[:])
		l.nonce = hex.EncodeToString(r[:])
		if err := l.append(entry{Op: opLedger, Nonce: l.nonce, Provider: provider}); err != nil {
			f.Close()
			return nil, err
		}
	}
	return l, nil
}

// apply folds one line into the state.
func (l *ledger) apply(e entry, provider string) error {
	if e.Op == opLedger {
		if e.Provider != provider {
			return fmt.Errorf("batch: the ledger %s belongs to batches of %s, not %s; use the same --batch or a new output directory", l.path, e.Provider, provider)
		}
		l.nonce = e.Nonce
		return nil
	}
	r := l.byTag[e.Tag]
	if e.Op == opIntent {
		if r != nil {
			return fmt.Errorf("batch: ledger %s names batch %s twice", l.path, e.Tag)
		}
		r = &record{tag: e.Tag, time: e.Time, ids: e.IDs}
		l.byTag[e.Tag] = r
		l.records = append(l.records, r)
		return nil
	}
	if r == nil {
		return fmt.Errorf("batch: ledger %s: %s line for an unknown batch %s", l.path, e.Op, e.Tag)
	}
	switch e.Op {
	case opSubmit:
		r.batch = e.Batch
	case opVoid:
		r.void = true
	case opIngested:
		r.ingested, r.state, r.failed = true, e.State, e.Failed
	default:
		return fmt.Errorf("batch: ledger %s: unknown operation %q", l.path, e.Op)
	}
	return nil
}

// append writes one line and syncs it.
func (l *ledger) append(e entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("batch: ledger: %w", err)
	}
	w := bufio.NewWriter(l.f)
	w.Write(b)
	w.WriteByte('\n')
	if err := w.Flush(); err != nil {
		return fmt.Errorf("batch: write ledger: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("batch: sync ledger: %w", err)
	}
	if e.Op != opLedger {
		if err := l.apply(e, ""); err != nil {
			return err
		}
	}
	return nil
}

func (l *ledger) close() error { return l.f.Close() }

// claimed returns the provider ids of the ledger's batches.
func (l *ledger) claimed() map[string]bool {
	out := map[string]bool{}
	for _, r := range l.records {
		if r.batch != "" {
			out[r.batch] = true
		}
	}
	return out
}
