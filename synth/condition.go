package synth

import (
	"fmt"
	"math/rand/v2"
)

// Condition modes of a ConditionSpace.
const (
	// ConditionsCartesian (the default) covers the cartesian product of the
	// factor lists: every block of Size consecutive prompts holds each
	// combination exactly once, in an order shuffled by the seed (a new
	// order per block). Products larger than MaxCartesian are drawn as
	// ConditionsRandom.
	ConditionsCartesian = "cartesian"
	// ConditionsOrdered walks the cartesian product in order (topics vary
	// slowest, lengths fastest) and wraps around; the seed is unused.
	ConditionsOrdered = "ordered"
	// ConditionsRandom draws every factor independently and uniformly.
	ConditionsRandom = "random"
)

// MaxCartesian is the largest product ConditionsCartesian shuffles.
const MaxCartesian = 1 << 20

// ConditionSpace lists the values of each diversity factor (topics, styles,
// personas, lengths). An empty list leaves its factor unset.
type ConditionSpace struct {
	Topics   []string `json:"topics,omitempty"`
	Styles   []string `json:"styles,omitempty"`
	Personas []string `json:"personas,omitempty"`
	Lengths  []string `json:"lengths,omitempty"`
	// Mode is ConditionsCartesian (the default), ConditionsOrdered or
	// ConditionsRandom.
	Mode string `json:"mode,omitempty"`
}

// IsZero reports whether the space sets no factor.
func (s ConditionSpace) IsZero() bool {
	return len(s.Topics)+len(s.Styles)+len(s.Personas)+len(s.Lengths) == 0
}

// Size returns the number of distinct conditions (the product of the list
// lengths, an empty list counting as one), or -1 when it exceeds
// MaxCartesian.
func (s ConditionSpace) Size() int {
	n := 1
	for _, l := range s.lists() {
		if len(l) > 0 {
			n *= len(l)
			if n > MaxCartesian {
				return -1
			}
		}
	}
	return n
}

func (s ConditionSpace) lists() [4][]string {
	return [4][]string{s.Topics, s.Styles, s.Personas, s.Lengths}
}

// Draw returns n conditions, deterministic for the seed (see the modes).
func (s ConditionSpace) Draw(n int, seed uint64) ([]Condition, error) {
	if n < 0 {
		return nil, fmt.Errorf("synth: conditions: negative count %d", n)
	}
	out := make([]Condition, n)
	if s.IsZero() {
		return out, nil
	}
	mode := s.Mode
	if mode == "" {
		mode = ConditionsCartesian
	}
	if s.Size() < 0 && mode != ConditionsRandom {
		mode = ConditionsRandom
	}
	switch mode {
	case ConditionsOrdered:
		for i := range out {
			out[i] = s.at(i)
		}
	case ConditionsCartesian:
		size := s.Size()
		var perm []int
		for i := range out {
			if i%size == 0 {
				perm = rand.New(rand.NewPCG(seed, uint64(i/size))).Perm(size)
			}
			out[i] = s.at(perm[i%size])
		}
	case ConditionsRandom:
		rng := rand.New(rand.NewPCG(seed, 0xc0d1))
		for i := range out {
			var v [4]string
			for f, l := range s.lists() {
				if len(l) > 0 {
					v[f] = l[rng.IntN(len(l))]
				}
			}
			out[i] = Condition{Topic: v[0], Style: v[1], Persona: v[2], Length: v[3]}
		}
	default:
		return nil, fmt.Errorf("synth: unknown condition mode %q (want %s, %s or %s)", s.Mode, ConditionsCartesian, ConditionsOrdered, ConditionsRandom)
	}
	return out, nil
}

// at returns element i (mod Size) of the cartesian product, with the last
// factor varying fastest.
func (s ConditionSpace) at(i int) Condition {
	i %= s.Size()
	var v [4]string
	ls := s.lists()
	for f := 3; f >= 0; f-- {
		if len(ls[f]) == 0 {
			continue
		}
		v[f] = ls[f][i%len(ls[f])]
		i /= len(ls[f])
	}
	return Condition{Topic: v[0], Style: v[1], Persona: v[2], Length: v[3]}
}
