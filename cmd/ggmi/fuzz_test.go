package main

import (
	"os"
	"strings"
	"testing"
)

// FuzzSimulateMeasureFlags: whatever the flag values, simulate and measure
// exit 0 or give one sentence (exit 2), never a panic, and never plan more
// memory than the limit (--max-memory 512M here, so that a value that gets
// through cannot exhaust the machine). Values are kept small enough in
// runtime by capping rounds, samples and dimensions in the seed corpus's
// spirit: the fuzzer explores the numbers, the limit bounds the memory.
func FuzzSimulateMeasureFlags(f *testing.F) {
	f.Add("simulate", "--hist-bins", "100000000", "--estimator", "hist")
	f.Add("simulate", "--synthetic", "2000000000", "--sweep", "none")
	f.Add("simulate", "--mc-samples", "2000000000", "--sweep", "none")
	f.Add("simulate", "--rounds", "1000000000", "--sweep", "none")
	f.Add("simulate", "--K", "-5", "--J", "x")
	f.Add("simulate", "--anchor-components", "0", "--dim", "0")
	f.Add("measure", "--max-pairs", "2000000000", "--bootstrap", "1")
	f.Add("measure", "--bootstrap", "-3", "--metrics", "bogus")
	f.Add("measure", "--param", "se.threshold=x", "--pairing", "nope")
	dir := f.TempDir()
	data := dir + "/d.jsonl"
	if err := os.WriteFile(data, []byte(`{"instruction":"a b c","output":"d e f"}`+"\n"+`{"instruction":"g h i","output":"j k l"}`+"\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, cmd, flag1, val1, flag2, val2 string) {
		if cmd != "simulate" && cmd != "measure" {
			return
		}
		if !strings.HasPrefix(flag1, "--") || !strings.HasPrefix(flag2, "--") || flag1 == "--max-memory" || flag2 == "--max-memory" {
			return
		}
		args := []string{cmd, flag1, val1, flag2, val2, "--max-memory", "512M", "-q"}
		if cmd == "simulate" {
			// Keep accepted runs short: one round of the base world unless
			// the fuzzer overrides these (later flags win).
			args = append([]string{cmd, "--rounds", "1", "--sweep", "none", "--mc-samples", "50", "--hist-rounds", "1", "--em-n-init", "1", "--em-max-iter", "5"}, args[1:]...)
			args = append(args, "--out", "")
		} else {
			args = append([]string{cmd, data, "--metrics", "ngram", "--bootstrap", "0"}, args[1:]...)
			args = append(args, "--out", t.TempDir())
		}
		code, _, stderr := runCLI(args...)
		switch code {
		case 0:
		case 2:
			s := strings.TrimSpace(stderr)
			if strings.Count(s, "\n") != 0 || !strings.HasPrefix(s, "ggmi: ") {
				t.Fatalf("%q: not one sentence: %q", args, stderr)
			}
		default:
			t.Fatalf("%q: exit %d: %s", args, code, stderr)
		}
	})
}
