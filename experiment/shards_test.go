package experiment

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Each shard leaves a completion marker with its stats; MergeShards
// refuses, listing what is missing, while a shard has no marker or
// finished with a failed configuration, and merges once all are complete.
func TestShardMarkersAndMergeRefusal(t *testing.T) {
	dir := t.TempDir()
	c := testConfig(t, dir, "") // configurations g_demos-2, g_demos-3, g_demos-4
	shardDir := func(i int) string { return filepath.Join(dir, fmt.Sprintf("shard%d", i)) }
	runShard := func(i int, fail string) error {
		cs := *c
		cs.Out = shardDir(i)
		r, cn := newTestRunner(t, &cs, Options{Shard: Shard{Index: i, Count: 3}})
		cn.fail = fail
		return r.Run(context.Background())
	}
	if err := runShard(0, ""); err != nil {
		t.Fatal(err)
	}
	if err := runShard(1, "g_demos-3"); err == nil {
		t.Fatal("the injected failure did not fail shard 1")
	}
	var m ShardMarker
	if err := readJSON(filepath.Join(shardDir(0), "shards", "0-of-3.json"), &m); err != nil {
		t.Fatal(err)
	}
	want := []ShardConfig{{ID: "g_demos-2", Stages: []string{StageGenerate, StageCurate, StageMeasure, StageTrain, StageJudge}, Generated: 11, Kept: 10}}
	if !m.Complete || m.Shard != (Shard{0, 3}) || !reflect.DeepEqual(m.Configurations, want) || m.Seconds <= 0 || !reflect.DeepEqual(m.Stages, Stages) {
		t.Fatalf("marker %+v", m)
	}

	r, _ := newTestRunner(t, c, Options{})
	dirs := []string{shardDir(0), shardDir(1), shardDir(2)}
	_, err := r.MergeShards(dirs...)
	if !errors.Is(err, ErrShardsIncomplete) {
		t.Fatalf("merge of incomplete shards: %v", err)
	}
	for _, s := range []string{
		"shard 1 of 3 finished with failed configurations (g_demos-3: configuration g_demos-3, stage measure: injected failure)",
		"shard 2 of 3 has no completion marker (configurations g_demos-4)",
	} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error lacks %q:\n%v", s, err)
		}
	}
	if strings.Contains(err.Error(), "shard 0") {
		t.Errorf("error names the complete shard 0: %v", err)
	}
	if e, _ := filepath.Glob(filepath.Join(c.RunDir(), "configs", "*")); len(e) != 0 {
		t.Fatalf("a refused merge copied %v", e)
	}

	if err := runShard(1, ""); err != nil {
		t.Fatal(err)
	}
	if err := runShard(2, ""); err != nil {
		t.Fatal(err)
	}
	merged, err := r.MergeShards(dirs...)
	if err != nil || len(merged) != 3 {
		t.Fatalf("merged %v, %v", merged, err)
	}
	// Shards of another split are refused.
	cs := *c
	cs.Out = filepath.Join(dir, "other")
	r2, _ := newTestRunner(t, &cs, Options{Shard: Shard{Index: 0, Count: 2}})
	if err := r2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.MergeShards(append(dirs, cs.Out)...); !errors.Is(err, ErrShardsIncomplete) || !strings.Contains(err.Error(), "split into 2 shards") {
		t.Fatalf("mixed splits: %v", err)
	}
}
