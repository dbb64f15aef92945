package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ggmi-dev/ggmi/internal/testshared"
)

// shardEnv is the environment of a shard process: ggmi first on the PATH.
func shardEnv(bin string, extra ...string) []string {
	env := append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"), "GGMI="+bin)
	return append(env, extra...)
}

// TestExamplesShardsAsProcesses runs examples/jobs/slurm-array.sh as the three
// array tasks of a Slurm job (SLURM_ARRAY_TASK_ID 0, 1, 2; the data and
// generate stages of examples/offline.yaml) and as its merge job: the
// merge refuses while a shard is missing, listing it, then joins the
// three, and every configuration's generated records equal those of one
// unsharded run. The Kubernetes manifest's commands run the same way with
// JOB_COMPLETION_INDEX.
func TestExamplesShardsAsProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ggmi and generates with the built-in engine")
	}
	testshared.StoriesPath(t) // skips without ../shared
	bin := buildGGMI(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	runs := t.TempDir()
	sh := func(script string, env []string, args ...string) (string, error) {
		cmd := exec.Command("sh", append([]string{script}, args...)...)
		cmd.Dir, cmd.Env = root, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	slurm := filepath.Join(runs, "slurm")
	common := []string{"GGMI_RUNS=" + slurm}
	for i := range 3 {
		env := shardEnv(bin, append(common, "SLURM_ARRAY_TASK_ID="+string(rune('0'+i)), "GGMI_ARGS=--stage data,generate -q")...)
		if out, err := sh("examples/jobs/slurm-array.sh", env); err != nil {
			t.Fatalf("array task %d: %v\n%s", i, err, out)
		}
		if i == 1 {
			// Two of three shards done: the merge refuses and names the third.
			out, err := sh("examples/jobs/slurm-array.sh", shardEnv(bin, append(common, "GGMI_ARGS=--stage data,curate")...), "merge")
			if code := exitCode(err); code != 2 || !strings.Contains(out, "shard 2 of 3 has no completion marker (configurations stories_demos-1_temperature-0.6, stories_demos-2_temperature-1.2)") {
				t.Fatalf("merge before shard 2: exit %d\n%s", code, out)
			}
			if _, err := os.Stat(filepath.Join(slurm, "merged", "configs")); err == nil {
				t.Fatal("a refused merge copied configurations")
			}
		}
	}
	out, err := sh("examples/jobs/slurm-array.sh", shardEnv(bin, append(common, "GGMI_ARGS=--stage data,curate -q")...), "merge")
	if err != nil {
		t.Fatalf("merge: %v\n%s", err, out)
	}
	whole := filepath.Join(runs, "whole")
	if out, err := exec.Command(bin, "run", filepath.Join(root, "examples", "offline.yaml"), "--out", whole, "--stage", "data,generate", "-q").CombinedOutput(); err != nil {
		t.Fatalf("unsharded run: %v\n%s", err, out)
	}
	ids, _ := filepath.Glob(filepath.Join(whole, "configs", "*"))
	if len(ids) != 6 {
		t.Fatalf("the unsharded run has %d configurations, want 6", len(ids))
	}
	for _, d := range ids {
		id := filepath.Base(d)
		want := recordsOf(t, filepath.Join(d, "gen", "synthetic.jsonl"))
		got := recordsOf(t, filepath.Join(slurm, "merged", "configs", id, "gen", "synthetic.jsonl"))
		if len(want) == 0 || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: merged shards hold %d records, the unsharded run %d (or they differ)", id, len(got), len(want))
		}
		if _, err := os.Stat(filepath.Join(slurm, "merged", "configs", id, ".stages", "curate.json")); err != nil {
			t.Fatalf("%s: curation did not run after the merge: %v", id, err)
		}
	}

	// The Kubernetes manifest: three indexed pods, then the merge.
	b, err := os.ReadFile(filepath.Join(root, "examples", "jobs", "k8s-indexed-job.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type container struct{ Command []string }
	type podSpec struct{ Containers []container }
	var shardCmd, mergeCmd []string
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	for {
		var doc struct {
			Kind string
			Spec struct {
				CompletionMode string `yaml:"completionMode"`
				Completions    int
				Template       struct{ Spec podSpec }
				JobTemplate    struct {
					Spec struct{ Template struct{ Spec podSpec } }
				} `yaml:"jobTemplate"`
			}
		}
		if dec.Decode(&doc) != nil {
			break
		}
		switch doc.Kind {
		case "Job":
			if doc.Spec.CompletionMode != "Indexed" || doc.Spec.Completions != 3 {
				t.Fatalf("the Job is %q with %d completions, want Indexed with 3", doc.Spec.CompletionMode, doc.Spec.Completions)
			}
			shardCmd = doc.Spec.Template.Spec.Containers[0].Command
		case "CronJob":
			mergeCmd = doc.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Command
		}
	}
	if len(shardCmd) != 3 || len(mergeCmd) != 3 || shardCmd[0] != "sh" || mergeCmd[0] != "sh" {
		t.Fatalf("commands %q and %q, want sh -c …", shardCmd, mergeCmd)
	}
	k8s := filepath.Join(runs, "k8s")
	for i := range 3 {
		cmd := exec.Command(shardCmd[0], shardCmd[1:]...)
		cmd.Dir, cmd.Env = root, shardEnv(bin, "GGMI_RUNS="+k8s, "JOB_COMPLETION_INDEX="+string(rune('0'+i)), "GGMI_ARGS=--stage data -q")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("pod %d: %v\n%s", i, err, out)
		}
		if _, err := os.Stat(filepath.Join(k8s, "shard-"+string(rune('0'+i)), "shards", string(rune('0'+i))+"-of-3.json")); err != nil {
			t.Fatalf("pod %d left no completion marker: %v", i, err)
		}
	}
	cmd := exec.Command(mergeCmd[0], mergeCmd[1:]...)
	cmd.Dir, cmd.Env = root, shardEnv(bin, "GGMI_RUNS="+k8s, "GGMI_ARGS=--stage data -q")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("merge pod: %v\n%s", err, out)
	}
}

// exitCode is the exit status of a finished command (0 without error).
func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
