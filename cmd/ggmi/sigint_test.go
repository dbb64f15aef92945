package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the tests run this test binary as the ggmi program itself
// (GGMI_TEST_MAIN=1), so that signals reach a real process.
func TestMain(m *testing.M) {
	if os.Getenv("GGMI_TEST_MAIN") == "1" {
		hardExit = os.Exit
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// SIGINT during each long loop of simulate stops the process within the
// bound with exit code 130 and writes no partial output.
func TestSIGINTStopsSimulate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	cases := map[string][]string{
		"em-n-init": {"--em-n-init", "1000000", "--sweep", "none"},
		"dim":       {"--dim", "1000", "--rounds", "1", "--sweep", "none"},
		"hist":      {"--estimator", "hist", "--hist-rounds", "10000000", "--sweep", "none"},
		"rounds":    {"--rounds", "2000000", "--mc-samples", "200", "--sweep", "none"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			out := t.TempDir() + "/out"
			cmd := exec.Command(os.Args[0], append(append([]string{"simulate"}, args...), "--out", out, "--workers", "2")...)
			cmd.Env = append(os.Environ(), "GGMI_TEST_MAIN=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait until the loop runs (the progress line is out).
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(stderr.String(), "started") && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond)
			sent := time.Now()
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			took := time.Since(sent)
			code := cmd.ProcessState.ExitCode()
			if code != 130 {
				t.Fatalf("exit %d (%v), want 130; stderr %q", code, err, stderr.String())
			}
			if took > 1500*time.Millisecond {
				t.Errorf("stopped %v after SIGINT", took)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("an interrupted run left %s", out)
			}
		})
	}
}

// SIGINT during curate's ROUGE-L filter against a huge anchor document
// stops the process within the bound with exit code 130 and leaves no
// curated output.
func TestSIGINTStopsCurate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString(`{"instruction":"`)
	for i := range 3_000_000 {
		b.WriteString("w")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(" ")
	}
	b.WriteString(`","output":"x"}` + "\n")
	if err := os.WriteFile(dir+"/anchor.jsonl", []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var in strings.Builder
	for i := range 50 {
		in.WriteString(`{"instruction":"write a poem about the sea number ` + strings.Repeat("x", i) + `","output":"ok"}` + "\n")
	}
	if err := os.WriteFile(dir+"/in.jsonl", []byte(in.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := dir + "/out"
	cmd := exec.Command(os.Args[0], "curate", dir+"/in.jsonl", "--against", dir+"/anchor.jsonl", "--out", out)
	cmd.Env = append(os.Environ(), "GGMI_TEST_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Progress lines are for terminals; give the reading and the filters
	// before ROUGE-L a few seconds instead.
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(stderr.String(), "rouge-l") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	took := time.Since(sent)
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit %d (%v), want 130; stderr %q", code, err, stderr.String())
	}
	if took > 1500*time.Millisecond {
		t.Errorf("stopped %v after SIGINT", took)
	}
	if _, err := os.Stat(out + "/curated.jsonl"); !os.IsNotExist(err) {
		t.Errorf("an interrupted curate left %s/curated.jsonl", out)
	}
}
