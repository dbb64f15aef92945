package experiment

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ggmi-dev/ggmi/dataset"
)

// Shard selects this machine's share of the per-configuration work:
// configuration i belongs to shard i mod Count.
type Shard struct {
	Index, Count int
}

// ParseShard reads "i/N" (0 ≤ i < N). "auto/N" takes i from the
// JOB_COMPLETION_INDEX environment variable that Kubernetes sets in an
// indexed job or, without it, from Slurm's SLURM_ARRAY_TASK_ID of a job
// array (less SLURM_ARRAY_TASK_MIN, so that --array=1-3 gives 0, 1, 2).
// The empty string means no sharding.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	if a == "auto" {
		a = os.Getenv("JOB_COMPLETION_INDEX")
		if a == "" {
			id, err := strconv.Atoi(os.Getenv("SLURM_ARRAY_TASK_ID"))
			if err != nil {
				return Shard{}, errors.New("--shard auto/N needs JOB_COMPLETION_INDEX (set by Kubernetes indexed jobs) or SLURM_ARRAY_TASK_ID (set in Slurm job arrays)")
			}
			lo, err := strconv.Atoi(os.Getenv("SLURM_ARRAY_TASK_MIN"))
			if err != nil {
				lo = 0
			}
			a = strconv.Itoa(id - lo)
		}
	}
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q must be i/N with 0 ≤ i < N", s)
	}
	return Shard{Index: i, Count: n}, nil
}

// Owns reports whether configuration number i is this shard's.
func (s Shard) Owns(i int) bool { return s.Count <= 1 || i%s.Count == s.Index }

// Active reports whether the work is sharded.
func (s Shard) Active() bool { return s.Count > 1 }

func (s Shard) String() string {
	if !s.Active() {
		return ""
	}
	return fmt.Sprintf("%d-of-%d", s.Index, s.Count)
}

// Manifest is manifest.json: what a run read, with which settings, and how
// long each stage took.
type Manifest struct {
	Name    string    `json:"name"`
	Version string    `json:"ggmi_version"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Config is the experiment file's text.
	Config string `json:"config"`
	// ConfigSHA256 is the hash of Config.
	ConfigSHA256 string  `json:"config_sha256"`
	Seed         uint64  `json:"seed"`
	Inputs       []Input `json:"inputs"`
	// Configurations lists the sweep's points.
	Configurations []Configuration `json:"configurations"`
	Shard          string          `json:"shard,omitempty"`
	Stages         []StageRecord   `json:"stages"`
}

// Input is a file the run read.
type Input struct {
	Role   string `json:"role"`
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// StageRecord is one completed stage of one configuration (Config is
// empty for the stages shared by all).
type StageRecord struct {
	Stage       string    `json:"stage"`
	Config      string    `json:"config,omitempty"`
	Fingerprint string    `json:"fingerprint"`
	Seconds     float64   `json:"seconds"`
	Finished    time.Time `json:"finished"`
	Skipped     bool      `json:"skipped,omitempty"`
}

// hashFile returns the SHA-256 and size of a file.
func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// fingerprint hashes the JSON of parts.
func fingerprint(parts ...any) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, p := range parts {
		if err := enc.Encode(p); err != nil {
			fmt.Fprintf(h, "%#v", p)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// writeJSON writes v as indented JSON to path atomically (temporary file,
// fsync, rename), so a reader never sees half a file.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return writeAtomic(path, append(b, '\n'))
}

func writeAtomic(path string, b []byte) error {
	return dataset.WriteAtomic(path, true, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// readJSON reads path into v.
func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// stageMarker is the record a completed stage leaves in its directory.
type stageMarker struct {
	Fingerprint string    `json:"fingerprint"`
	Finished    time.Time `json:"finished"`
	Seconds     float64   `json:"seconds"`
}

func markerPath(dir, stage string) string {
	return filepath.Join(dir, ".stages", stage+".json")
}

// done reports whether stage completed in dir with this fingerprint.
func done(dir, stage, fp string) bool {
	var m stageMarker
	if err := readJSON(markerPath(dir, stage), &m); err != nil {
		return false
	}
	return m.Fingerprint == fp
}

// Merge copies the configuration directories of shard run directories into
// dst (a configuration present in several is taken from the one whose
// stages are furthest along) and returns the configurations merged. The
// shared baseline (the real-only and S_anchor students and their judging)
// is copied too when dst lacks it, with its pointers rewritten to dst.
func Merge(dst string, shards ...string) ([]string, error) {
	var merged []string
	for _, src := range shards {
		if err := mergeBaseline(dst, src); err != nil {
			return merged, fmt.Errorf("merge %s: baseline: %w", src, err)
		}
		entries, err := os.ReadDir(filepath.Join(src, "configs"))
		if err != nil {
			return merged, fmt.Errorf("merge %s: %w", src, err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			from := filepath.Join(src, "configs", e.Name())
			to := filepath.Join(dst, "configs", e.Name())
			if filepath.Clean(from) == filepath.Clean(to) {
				continue
			}
			if stagesDone(from) < stagesDone(to) {
				continue
			}
			if err := os.RemoveAll(to); err != nil {
				return merged, err
			}
			if err := copyTree(from, to); err != nil {
				return merged, fmt.Errorf("merge %s: %w", from, err)
			}
			merged = append(merged, e.Name())
		}
	}
	return merged, nil
}

// mergeBaseline copies the baseline directories of src that dst lacks and
// sets dst's pointers (current.json, judge.json) from src's when dst has
// none.
func mergeBaseline(dst, src string) error {
	entries, err := os.ReadDir(filepath.Join(src, "baseline"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		from, to := filepath.Join(src, "baseline", e.Name()), filepath.Join(dst, "baseline", e.Name())
		if !e.IsDir() || filepath.Clean(from) == filepath.Clean(to) {
			continue
		}
		if _, err := os.Stat(to); err == nil {
			continue
		}
		if err := copyTree(from, to); err != nil {
			return err
		}
	}
	for _, name := range []string{"current.json", "judge.json"} {
		var ptr struct{ Dir string }
		if readJSON(filepath.Join(dst, "baseline", name), &ptr) == nil {
			continue
		}
		if readJSON(filepath.Join(src, "baseline", name), &ptr) != nil || ptr.Dir == "" {
			continue
		}
		// The pointer names baseline/<fingerprint>[/judge-…] under src.
		rel, err := filepath.Rel(filepath.Join(src, "baseline"), ptr.Dir)
		if err != nil || strings.HasPrefix(rel, "..") {
			rel = filepath.Base(ptr.Dir)
			if name == "judge.json" {
				rel = filepath.Join(filepath.Base(filepath.Dir(ptr.Dir)), filepath.Base(ptr.Dir))
			}
		}
		if err := writeJSON(filepath.Join(dst, "baseline", name), map[string]string{"dir": filepath.Join(dst, "baseline", rel)}); err != nil {
			return err
		}
	}
	return nil
}

func stagesDone(dir string) int {
	e, err := os.ReadDir(filepath.Join(dir, ".stages"))
	if err != nil {
		return -1
	}
	return len(e)
}

func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		target := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return writeAtomic(target, b)
	})
}
