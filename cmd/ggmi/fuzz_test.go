package main

import (
	"os"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"
)

// heapLimit is the --max-memory the fuzz target passes, and the bound it
// checks the heap's growth against.
const heapLimit = 512 << 20

// peakHeap runs f and returns the largest growth of the live heap
// (runtime/metrics, sampled every millisecond) over its level before f.
func peakHeap(f func()) uint64 {
	const name = "/memory/classes/heap/objects:bytes"
	sample := []metrics.Sample{{Name: name}}
	read := func() uint64 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return sample[0].Value.Uint64()
	}
	base := read()
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			v := read()
			mu.Lock()
			peak = max(peak, v)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	peak = max(peak, read())
	if peak < base {
		return 0
	}
	return peak - base
}

// FuzzSimulateMeasureFlags: whatever the flag values, simulate and measure
// exit 0 or give one sentence (exit 2), never a panic, and the live heap
// never grows by more than the --max-memory they are given (512M here,
// measured with runtime/metrics while the command runs in-process), so a
// value that gets through the estimate cannot exhaust the machine either.
// Accepted runs are kept short by small defaults that the fuzzed flags
// override: the fuzzer explores the numbers, the limit bounds the memory.
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
	f.Add("simulate", "--synthetic", "20000", "--dim", "3")
	f.Add("simulate", "--mc-samples", "200000", "--estimator", "mc,hist-shared")
	f.Add("measure", "--max-pairs", "3000", "--metrics", "ngram,vendi")
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
		args := []string{cmd, flag1, val1, flag2, val2, "--max-memory", "512M", "-q"} // heapLimit
		if cmd == "simulate" {
			// Keep accepted runs short: one round of the base world unless
			// the fuzzer overrides these (later flags win).
			args = append([]string{cmd, "--rounds", "1", "--sweep", "none", "--mc-samples", "50", "--hist-rounds", "1", "--em-n-init", "1", "--em-max-iter", "5"}, args[1:]...)
			args = append(args, "--out", "")
		} else {
			args = append([]string{cmd, data, "--metrics", "ngram", "--bootstrap", "0"}, args[1:]...)
			args = append(args, "--out", t.TempDir())
		}
		var code int
		var stderr string
		grew := peakHeap(func() { code, _, stderr = runCLI(args...) })
		if grew > heapLimit {
			t.Fatalf("%q: the heap grew by %d bytes, over the --max-memory of %d", args, grew, heapLimit)
		}
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

// peakHeap sees an allocation held while f runs.
var sink []byte

func TestPeakHeap(t *testing.T) {
	grew := peakHeap(func() {
		sink = make([]byte, 64<<20)
		for i := range sink {
			sink[i] = 1
		}
		time.Sleep(5 * time.Millisecond)
	})
	sink = nil
	// Other garbage may be collected while f runs, so the growth can fall a
	// little short of the 64 MiB held.
	if grew < 60<<20 || grew > 80<<20 {
		t.Errorf("peakHeap saw %d bytes, want about %d", grew, 64<<20)
	}
}
