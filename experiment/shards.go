package experiment

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ShardMarker is the completion marker a shard writes into its run
// directory (shards/I-of-N.json) when it has done its share: which
// configurations and stages, with what result. `ggmi run --merge` joins
// shards only when every shard's marker is there and complete.
type ShardMarker struct {
	Shard Shard `json:"shard"`
	// ConfigSHA256 identifies the experiment file the shard ran.
	ConfigSHA256 string `json:"config_sha256"`
	// Stages are the stages the shard ran (all of them unless --stage).
	Stages []string `json:"stages"`
	// Configurations are the shard's configurations with their stats.
	Configurations []ShardConfig `json:"configurations"`
	// Failed maps a configuration that failed to its error.
	Failed map[string]string `json:"failed,omitempty"`
	// Complete is true when no configuration failed.
	Complete bool      `json:"complete"`
	Seconds  float64   `json:"seconds"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Host     string    `json:"host,omitempty"`
	Version  string    `json:"ggmi_version,omitempty"`
}

// ShardConfig is one configuration of a shard and what it produced.
type ShardConfig struct {
	ID string `json:"id"`
	// Stages are the stages completed, in order.
	Stages []string `json:"stages"`
	// Generated and Kept count the records before and after curation
	// (absent when the stage did not run).
	Generated int `json:"generated,omitempty"`
	Kept      int `json:"kept,omitempty"`
}

func shardMarkerPath(dir string, s Shard) string {
	return filepath.Join(dir, "shards", fmt.Sprintf("%d-of-%d.json", s.Index, s.Count))
}

// countLines counts the lines of a file (0 when it cannot be read).
func countLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte{'\n'})
}

// writeShardMarker records this shard's share as done.
func (r *Runner) writeShardMarker(stages []string, started time.Time, failed map[string]string) error {
	m := ShardMarker{Shard: r.opt.Shard, ConfigSHA256: r.Manifest().ConfigSHA256, Stages: stages, Failed: failed,
		Complete: len(failed) == 0, Started: started.UTC(), Finished: time.Now().UTC(), Version: r.opt.Version}
	m.Seconds = m.Finished.Sub(m.Started).Seconds()
	m.Host, _ = os.Hostname()
	for i, c := range r.confs {
		if !r.opt.Shard.Owns(i) {
			continue
		}
		dir := r.ConfigDir(c.ID)
		sc := ShardConfig{ID: c.ID, Stages: []string{}}
		for _, st := range Stages {
			if _, err := os.Stat(markerPath(dir, st)); err == nil {
				sc.Stages = append(sc.Stages, st)
			}
		}
		sc.Generated = countLines(filepath.Join(dir, genSynthetic))
		sc.Kept = countLines(filepath.Join(dir, synthetic))
		m.Configurations = append(m.Configurations, sc)
	}
	return writeJSON(shardMarkerPath(r.dir, r.opt.Shard), m)
}

// readShardMarkers returns the markers found in the directories' shards/
// folders, by "I-of-N".
func readShardMarkers(dirs ...string) (map[string]ShardMarker, error) {
	out := map[string]ShardMarker{}
	for _, d := range dirs {
		names, err := filepath.Glob(filepath.Join(d, "shards", "*-of-*.json"))
		if err != nil {
			return nil, err
		}
		for _, p := range names {
			var m ShardMarker
			if err := readJSON(p, &m); err != nil {
				return nil, err
			}
			k := m.Shard.String()
			if old, ok := out[k]; ok && old.Complete && !m.Complete {
				continue // a complete marker wins over an incomplete copy
			}
			out[k] = m
		}
	}
	return out, nil
}

// ErrShardsIncomplete is wrapped by MergeShards' error when some shard has
// not finished its share.
var ErrShardsIncomplete = errors.New("the shards are incomplete")

// MergeShards checks the completion markers of the shard run directories
// and, when every shard of the experiment has finished its share without
// failure, joins them into this run's directory (see Merge). Otherwise it
// merges nothing and its error, wrapping ErrShardsIncomplete, lists what
// is missing: shards without a marker, shards whose configurations
// failed, shards of another experiment file, configurations that no shard
// completed.
func (r *Runner) MergeShards(dirs ...string) ([]string, error) {
	markers, err := readShardMarkers(append([]string{r.dir}, dirs...)...)
	if err != nil {
		return nil, err
	}
	var problems []string
	if len(markers) == 0 {
		problems = append(problems, fmt.Sprintf("no shard completion marker (shards/I-of-N.json) in %s: run every shard to its end first", strings.Join(dirs, ", ")))
	}
	count := 0
	for _, m := range markers {
		count = max(count, m.Shard.Count)
	}
	want := fingerprint(string(r.raw))
	if len(r.raw) == 0 {
		want = ""
	}
	done := map[string]bool{}
	for i := range count {
		s := Shard{Index: i, Count: count}
		m, ok := markers[s.String()]
		var owned []string
		for j, c := range r.confs {
			if s.Owns(j) {
				owned = append(owned, c.ID)
			}
		}
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("shard %d of %d has no completion marker (configurations %s)", i, count, strings.Join(owned, ", ")))
		case want != "" && m.ConfigSHA256 != want:
			problems = append(problems, fmt.Sprintf("shard %d of %d ran another version of the experiment file", i, count))
		case !m.Complete:
			ids := make([]string, 0, len(m.Failed))
			for id := range m.Failed {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			var parts []string
			for _, id := range ids {
				parts = append(parts, id+": "+m.Failed[id])
			}
			problems = append(problems, fmt.Sprintf("shard %d of %d finished with failed configurations (%s)", i, count, strings.Join(parts, "; ")))
		default:
			for _, c := range m.Configurations {
				done[c.ID] = true
			}
		}
	}
	for k, m := range markers {
		if m.Shard.Count != count {
			problems = append(problems, fmt.Sprintf("shard %s belongs to a split into %d shards, the others to %d", k, m.Shard.Count, count))
		}
	}
	if len(problems) == 0 {
		var missing []string
		for _, c := range r.confs {
			if !done[c.ID] {
				missing = append(missing, c.ID)
			}
		}
		if len(missing) > 0 {
			problems = append(problems, "no shard completed configurations "+strings.Join(missing, ", "))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return nil, fmt.Errorf("%w, nothing merged: %s", ErrShardsIncomplete, strings.Join(problems, "; "))
	}
	return Merge(r.dir, dirs...)
}
