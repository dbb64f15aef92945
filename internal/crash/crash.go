package crash

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"
)

// Panic is a recovered panic with the stack of the goroutine that panicked.
type Panic struct {
	Value any
	Stack []byte
}

func (p *Panic) Error() string { return fmt.Sprintf("panic: %v", p.Value) }

// Capture turns the value of recover() into a *Panic, or nil when there was
// no panic. Call it directly in a deferred function:
//
//	defer func() { if p := crash.Capture(recover()); p != nil { … } }()
func Capture(v any) *Panic {
	if v == nil {
		return nil
	}
	if p, ok := v.(*Panic); ok {
		return p
	}
	return &Panic{Value: v, Stack: debug.Stack()}
}

// Guard recovers a panic of the calling goroutine into *err. Use it as
// `defer crash.Guard(&err)` in a function with a named error result.
func Guard(err *error) {
	if p := Capture(recover()); p != nil {
		*err = p
	}
}

// Go runs f on a new goroutine and hands a panic of f to onPanic instead of
// killing the process.
func Go(f func(), onPanic func(*Panic)) {
	go func() {
		defer func() {
			if p := Capture(recover()); p != nil {
				onPanic(p)
			}
		}()
		f()
	}()
}

// LogDir is where [WriteLog] puts crash logs: $XDG_STATE_HOME/ggmi, else
// ~/.local/state/ggmi, else the temporary directory.
func LogDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "ggmi")
	}
	if h, err := os.UserHomeDir(); err == nil && h != "" {
		return filepath.Join(h, ".local", "state", "ggmi")
	}
	return filepath.Join(os.TempDir(), "ggmi")
}

// WriteLog writes the panic, the command line and the stack to a new file
// in [LogDir] (or the temporary directory when that cannot be created) and
// returns its path.
func WriteLog(p *Panic, args []string, version string) (string, error) {
	body := fmt.Sprintf("ggmi %s internal error at %s\ncommand: %q\n\n%v\n\n%s", version,
		time.Now().UTC().Format(time.RFC3339), args, p.Value, p.Stack)
	name := fmt.Sprintf("crash-%s-%d.log", time.Now().UTC().Format("20060102T150405"), os.Getpid())
	for _, dir := range []string{LogDir(), os.TempDir()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			continue
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o644); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("cannot write a crash log")
}
