package llama

import "math"

// numState is the prefix of a number being written: an optional '-',
// integer digits, an optional '.' and fraction digits.
type numState struct {
	phase uint8 // 0 start, 1 after '-', 2 integer digits, 3 after '.', 4 fraction digits
	neg   bool
	nint  int8  // integer digits written
	nfrac int8  // fraction digits written
	mant  int64 // all digits written, as an integer
}

var pow10 = func() [19]float64 {
	var p [19]float64
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// numFeed returns the state after byte b and whether b can continue a
// number of n (without checking the bounds).
func numFeed(s numState, b byte, n *schemaNode) (numState, bool) {
	switch {
	case b == '-':
		if s.phase != 0 {
			return s, false
		}
		s.phase, s.neg = 1, true
	case b >= '0' && b <= '9':
		if int(s.nint)+int(s.nfrac) >= MaxNumberDigits {
			return s, false
		}
		d := int64(b - '0')
		switch s.phase {
		case 0, 1:
			s.phase = 2
		case 2:
			if s.mant == 0 { // a leading zero takes no more digits
				return s, false
			}
		case 3:
			s.phase = 4
		}
		if s.phase == 4 {
			if s.nfrac >= MaxFractionDigits {
				return s, false
			}
			s.nfrac++
		} else {
			s.nint++
		}
		s.mant = s.mant*10 + d
	case b == '.':
		if s.phase != 2 || n.kind == kindInteger || int(s.nint) >= MaxNumberDigits {
			return s, false
		}
		s.phase = 3
	default:
		return s, false
	}
	return s, true
}

// numCost returns the fewest bytes that turn s into a complete number in
// n's range, or -1 when no completion (within the digit limits) is in
// range. It is 0 exactly when s can end here.
func numCost(s numState, n *schemaNode) int {
	if math.IsInf(n.lo, -1) && math.IsInf(n.hi, 1) {
		switch s.phase { // unbounded: one more digit at most
		case 0, 1, 3:
			return 1
		}
		return 0
	}
	best := -1
	// The bounds in units of 10^-scale, computed once per scale.
	var ls, hs [MaxFractionDigits + 1]float64
	var have [MaxFractionDigits + 1]bool
	try := func(cost int, neg bool, a, b float64, scale int) {
		if best >= 0 && cost >= best {
			return
		}
		// Values are the multiples of 10^-scale in ±[a, b]·10^-scale.
		lo, hi := a, b
		if neg {
			lo, hi = -b, -a
		}
		if !have[scale] {
			sc := pow10[scale]
			ls[scale], hs[scale], have[scale] = scaledCeil(n.lo*sc), scaledFloor(n.hi*sc), true
		}
		l, h := ls[scale], hs[scale]
		if math.Max(lo, l) <= math.Min(hi, h) {
			best = cost
		}
	}
	signs := []bool{s.neg}
	if s.phase == 0 {
		signs = []bool{false, true}
	}
	for _, neg := range signs {
		sc := 0
		if s.phase == 0 && neg {
			sc = 1
		}
		switch s.phase {
		case 0, 1, 2:
			k := int(s.nint)
			jmin, jmax := 0, MaxNumberDigits-k
			if k == 0 {
				jmin = 1
			} else if s.mant == 0 {
				jmax = 0
			}
			for j := jmin; j <= jmax; j++ {
				if best >= 0 && sc+j >= best {
					break
				}
				var a, b float64
				switch {
				case k == 0 && j == 1:
					a, b = 0, 9
				case k == 0:
					a, b = pow10[j-1], pow10[j]-1
				default:
					a = float64(s.mant) * pow10[j]
					b = a + pow10[j] - 1
				}
				try(sc+j, neg, a, b, 0)
				if n.kind != kindNumber {
					continue
				}
				for f := 1; f <= MaxFractionDigits && k+j+f <= MaxNumberDigits; f++ {
					try(sc+j+1+f, neg, a*pow10[f], b*pow10[f]+pow10[f]-1, f)
				}
			}
		case 3, 4:
			gmin := 0
			if s.phase == 3 {
				gmin = 1
			}
			for g := gmin; int(s.nfrac)+g <= MaxFractionDigits && int(s.nint)+int(s.nfrac)+g <= MaxNumberDigits; g++ {
				a := float64(s.mant) * pow10[g]
				try(sc+g, neg, a, a+pow10[g]-1, int(s.nfrac)+g)
			}
		}
	}
	return best
}

// scaledCeil is math.Ceil that treats values within rounding error of an
// integer as that integer (0.1·10 is 1, not 2).
func scaledCeil(x float64) float64 {
	if math.IsInf(x, 0) {
		return x
	}
	r := math.Round(x)
	if math.Abs(x-r) <= 1e-9*math.Max(1, math.Abs(x)) {
		return r
	}
	return math.Ceil(x)
}

// scaledFloor is the floor counterpart of scaledCeil.
func scaledFloor(x float64) float64 {
	if math.IsInf(x, 0) {
		return x
	}
	r := math.Round(x)
	if math.Abs(x-r) <= 1e-9*math.Max(1, math.Abs(x)) {
		return r
	}
	return math.Floor(x)
}
