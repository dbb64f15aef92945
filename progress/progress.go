package progress

// Reporter receives progress events. Implementations must be safe for
// concurrent use: workers call Add from several goroutines.
type Reporter interface {
	// Start announces a stage with a human-readable name and the number of
	// units of work it will do (0 when unknown).
	Start(stage string, total int)
	// Add reports n more units done in the current stage.
	Add(n int)
	// Done ends the current stage.
	Done()
}

// Nop is a Reporter that discards every event.
type Nop struct{}

// Start implements Reporter.
func (Nop) Start(string, int) {}

// Add implements Reporter.
func (Nop) Add(int) {}

// Done implements Reporter.
func (Nop) Done() {}

// OrNop returns r, or Nop when r is nil.
func OrNop(r Reporter) Reporter {
	if r == nil {
		return Nop{}
	}
	return r
}
