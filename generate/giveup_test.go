package generate

import (
	"errors"
	"testing"
	"time"
)

func TestGiveUp(t *testing.T) {
	t0 := time.Unix(1000, 0)
	boom := errors.New("503")
	cases := []struct {
		name   string
		after  time.Duration
		events []string // "f@s" failure at second s, "s" success
		at     int      // check at second
		trip   bool
	}{
		{"no outcome", time.Minute, nil, 100, false},
		{"failing, not long enough", time.Minute, []string{"f0", "f30"}, 59, false},
		{"failing for the period", time.Minute, []string{"f0", "f30"}, 60, true},
		{"a success resets", time.Minute, []string{"f0", "s", "f50"}, 100, false},
		{"a success resets, then the period passes", time.Minute, []string{"f0", "s", "f50"}, 110, true},
		{"zero period never trips", 0, []string{"f0"}, 1e6, false},
	}
	for _, c := range cases {
		g := NewGiveUp(c.after)
		for _, e := range c.events {
			if e == "s" {
				g.Success()
				continue
			}
			var s int
			for _, ch := range e[1:] {
				s = s*10 + int(ch-'0')
			}
			g.Failure(t0.Add(time.Duration(s)*time.Second), boom)
		}
		err := g.Tripped(t0.Add(time.Duration(c.at) * time.Second))
		if (err != nil) != c.trip || (err != nil && !errors.Is(err, ErrGaveUp)) {
			t.Errorf("%s: Tripped = %v, want trip %v", c.name, err, c.trip)
		}
	}
}
