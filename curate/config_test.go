package curate

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ggmi-dev/ggmi/dataset"
)

func names(p Pipeline) []string {
	var out []string
	for _, f := range p.Filters {
		out = append(out, f.Name())
	}
	return out
}

func TestBuildConfig(t *testing.T) {
	eval := []dataset.Record{{Instruction: "an evaluation question here"}}
	// The zero Config is Default's pipeline, with and without eval.
	for _, ev := range [][]dataset.Record{nil, eval} {
		p, cfg, err := Build(Config{}, nil, ev)
		if err != nil {
			t.Fatal(err)
		}
		if want := names(Default(nil, ev)); !slices.Equal(names(p), want) || !slices.Equal(cfg.Filters, want) {
			t.Errorf("default filters %v (recorded %v), want %v", names(p), cfg.Filters, want)
		}
		if cfg.MinWords != 3 || cfg.MaxWords != 150 || cfg.Rouge != 0.7 || cfg.Near != 0.8 || !slices.Equal(cfg.Keywords, DefaultKeywords) {
			t.Errorf("resolved defaults %+v", cfg)
		}
	}
	for _, c := range []struct {
		cfg  Config
		eval []dataset.Record
		want []string
		err  bool
	}{
		{Config{Filters: []string{"exact-dedup", "length"}}, nil, []string{"exact-dedup", "length"}, false},
		{Config{Filters: []string{"none"}}, nil, nil, false},
		{Config{Filters: []string{"keywords", "bogus"}}, nil, nil, true},
		{Config{Filters: []string{"length", "length"}}, nil, nil, true},
		{Config{Filters: []string{"decontaminate"}}, nil, nil, true},
		{Config{Filters: []string{"decontaminate"}}, eval, []string{"decontaminate"}, false},
		{Config{MinWords: 10, MaxWords: 5}, nil, nil, true},
		{Config{Rouge: 1.5}, nil, nil, true},
	} {
		p, _, err := Build(c.cfg, nil, c.eval)
		if (err != nil) != c.err || (!c.err && !slices.Equal(names(p), c.want)) {
			t.Errorf("%+v: filters %v, err %v", c.cfg, names(p), err)
		}
	}
}

// Switching the keyword filter off keeps the Dolly-style instructions it
// would drop; a keyword file and length bounds take effect.
func TestConfigSwitches(t *testing.T) {
	recs := []dataset.Record{
		{ID: "a", Instruction: "Describe the video of the launch in detail"},
		{ID: "b", Instruction: "Which files should a backup keep and why"},
		{ID: "c", Instruction: "Explain how tides are caused by the moon"},
		{ID: "d", Instruction: "Name two birds that swim"},
	}
	run := func(cfg Config) []string {
		t.Helper()
		p, _, err := Build(cfg, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.Run(context.Background(), recs)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range res.Kept {
			ids = append(ids, r.ID)
		}
		return ids
	}
	if got := run(Config{}); !slices.Equal(got, []string{"c", "d"}) {
		t.Errorf("default kept %v, want c d (video, files dropped)", got)
	}
	if got := run(Config{Filters: []string{"start-char", "length", "exact-dedup", "near-dedup", "rouge-l"}}); len(got) != 4 {
		t.Errorf("without keywords kept %v, want all four", got)
	}
	path := filepath.Join(t.TempDir(), "kw.txt")
	os.WriteFile(path, []byte("# my list\n\ntides\n"), 0o644)
	kw, err := ReadKeywords(path)
	if err != nil || !slices.Equal(kw, []string{"tides"}) {
		t.Fatalf("ReadKeywords: %v %v", kw, err)
	}
	if got := run(Config{Keywords: kw}); !slices.Equal(got, []string{"a", "b", "d"}) {
		t.Errorf("keyword file [tides] kept %v, want a b d", got)
	}
	if got := run(Config{Filters: []string{"length"}, MinWords: 4, MaxWords: 5}); !slices.Equal(got, []string{"d"}) {
		t.Errorf("4 < words ≤ 5 kept %v, want d", got)
	}
	empty := filepath.Join(t.TempDir(), "empty.txt")
	os.WriteFile(empty, []byte("# nothing\n"), 0o644)
	if _, err := ReadKeywords(empty); err == nil {
		t.Error("an empty keyword file is accepted")
	}
}
