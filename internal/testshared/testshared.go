// Package testshared finds the project's shared folder (../shared beside
// the module root: papers, the stories260K model, the data sets) for
// tests, skipping a test with a clear message when it is absent, and loads
// the stories260K model once per test binary. Only tests import it.
package testshared

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ggmi-dev/ggmi/llama"
)

var (
	rootOnce sync.Once
	root     string
	rootErr  error
)

// moduleRoot is the nearest directory above the working directory (a
// test's package directory) that holds go.mod.
func moduleRoot() (string, error) {
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			rootErr = err
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				root = dir
				return
			}
			up := filepath.Dir(dir)
			if up == dir {
				rootErr = os.ErrNotExist
				return
			}
			dir = up
		}
	})
	return root, rootErr
}

// Path returns a file or directory of the shared folder (Path(t) is the
// folder itself), skipping t when it is absent.
func Path(t testing.TB, parts ...string) string {
	t.Helper()
	r, err := moduleRoot()
	if err != nil {
		t.Skipf("no module root above the test (%v), so no ../shared", err)
	}
	p := filepath.Join(append([]string{r, "..", "shared"}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s is not available (the tests need ../shared beside the repository; CI has it): %v", p, err)
	}
	return p
}

// StoriesPath is the stories260K llama2.c checkpoint (its tokenizer is
// beside it).
func StoriesPath(t testing.TB) string {
	t.Helper()
	return Path(t, "models", "stories260K", "stories260K.bin")
}

var (
	storiesOnce sync.Once
	stories     *llama.Model
	storiesErr  error
)

// Stories returns the stories260K model, loaded once per test binary and
// shared by its tests (which must not change it).
func Stories(t testing.TB) *llama.Model {
	t.Helper()
	path := StoriesPath(t)
	storiesOnce.Do(func() { stories, storiesErr = llama.Load(path) })
	if storiesErr != nil {
		t.Fatal(storiesErr)
	}
	return stories
}
