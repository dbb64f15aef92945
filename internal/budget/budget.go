package budget

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// Available returns the machine's available memory in bytes
// (MemAvailable of /proc/meminfo), or 0 when it cannot be read.
func Available() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			fs := strings.Fields(rest)
			if len(fs) == 0 {
				return 0
			}
			kb, err := strconv.ParseInt(fs[0], 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

// ParseSize parses a byte count such as 512M, 4G, 1.5GB, 2GiB or 1000000.
// Suffixes are powers of 1024.
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "IB"), "B")
	mult := 1.0
	if t != "" {
		switch t[len(t)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult != 1 {
			t = t[:len(t)-1]
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || !(v > 0) || math.IsInf(v*mult, 0) || v*mult > math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is not a size (want e.g. 512M, 4G or a number of bytes)", s)
	}
	return int64(v * mult), nil
}

// Format prints a byte count with a binary unit: "3.2 GB", "512 MB".
func Format(b float64) string {
	switch {
	case b >= 1<<40:
		return fmt.Sprintf("%.3g TB", b/(1<<40))
	case b >= 1<<30:
		return fmt.Sprintf("%.3g GB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.3g MB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.3g KB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f bytes", b)
}

// Limit is a memory limit with a description of where it came from.
type Limit struct {
	Bytes int64  // 0: no limit
	From  string // "the available memory" or "--max-memory"
}

// Error is an estimate over the limit.
type Error struct {
	What     string  // what needs the memory, e.g. "simulate with these flags"
	Estimate float64 // bytes
	Limit    Limit
	Hint     string // the flags to change, e.g. "lower --hist-bins"
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s would need about %s of memory, more than the limit of %s (%s); %s or raise --max-memory",
		e.What, Format(e.Estimate), Format(float64(e.Limit.Bytes)), e.Limit.From, e.Hint)
}

// Check returns an *Error when estimate exceeds the limit.
func (l Limit) Check(what string, estimate float64, hint string) error {
	if l.Bytes <= 0 || estimate <= float64(l.Bytes) {
		return nil
	}
	return &Error{What: what, Estimate: estimate, Limit: l, Hint: hint}
}

// Term is one part of an estimate and the flag that drives it.
type Term struct {
	Bytes float64
	Flag  string
}

// Sum adds the terms and names the flags of the largest ones (those above
// a fifth of the total) as the hint.
func Sum(terms ...Term) (float64, string) {
	var total float64
	for _, t := range terms {
		if t.Bytes > 0 && !math.IsNaN(t.Bytes) {
			total += t.Bytes
		}
	}
	var flags []string
	seen := map[string]bool{}
	for _, t := range terms {
		if t.Flag != "" && t.Bytes >= total/5 && !seen[t.Flag] {
			flags = append(flags, t.Flag)
			seen[t.Flag] = true
		}
	}
	hint := "lower " + strings.Join(flags, " or ")
	if len(flags) == 0 {
		hint = "use smaller inputs"
	}
	return total, hint
}
