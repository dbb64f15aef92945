package budget

import (
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1000", 1000, true}, {"4G", 4 << 30, true}, {"512M", 512 << 20, true}, {"1.5GB", 3 << 29, true},
		{"2GiB", 2 << 30, true}, {"8k", 8 << 10, true}, {"1T", 1 << 40, true},
		{"", 0, false}, {"lots", 0, false}, {"-1G", 0, false}, {"0", 0, false}, {"1e30", 0, false},
	}
	for _, c := range cases {
		got, err := ParseSize(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestCheckAndSum(t *testing.T) {
	total, hint := Sum(Term{Bytes: 100, Flag: "--a"}, Term{Bytes: 900, Flag: "--b"}, Term{Bytes: 10})
	if total != 1010 || hint != "lower --b" {
		t.Fatalf("Sum = %v, %q", total, hint)
	}
	l := Limit{Bytes: 1000, From: "--max-memory"}
	if err := l.Check("x", 1000, hint); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	err := l.Check("simulate", total, hint)
	if err == nil || !strings.Contains(err.Error(), "lower --b or raise --max-memory") || !strings.Contains(err.Error(), "1010 bytes") {
		t.Errorf("over the limit: %v", err)
	}
	if (Limit{}).Check("x", 1e30, "") != nil {
		t.Error("no limit refused")
	}
	if Available() <= 0 {
		t.Skip("no /proc/meminfo here")
	}
}
