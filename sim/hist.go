package sim

import "math"

// histClip is the floor the reference code clips empty cells to.
const histClip = 1e-10

// histogram is a d-dimensional equal-width histogram with bins per axis, in
// the manner of numpy.histogramdd(x, bins, density=True).
type histogram struct {
	counts []int32 // bins^d cells, row-major
	nz     []int32 // indices of non-empty cells
	n      int
	logNV  float64 // log(n · cell volume)
}

// histEdges returns each axis's range [lo, hi] as NumPy chooses it for
// bins=int: the sample's min and max, widened by ±0.5 when they coincide.
func histEdges(x []float64, d int, lo, hi []float64) {
	for a := range d {
		lo[a], hi[a] = math.Inf(1), math.Inf(-1)
	}
	for i := 0; i < len(x); i += d {
		for a := range d {
			v := x[i+a]
			if v < lo[a] {
				lo[a] = v
			}
			if v > hi[a] {
				hi[a] = v
			}
		}
	}
	for a := range d {
		if lo[a] == hi[a] {
			lo[a] -= 0.5
			hi[a] += 0.5
		}
	}
}

// build fills h with the points of x on the grid [lo, hi] with bins per
// axis. Points outside the range (possible only with shared edges taken
// from other samples) are dropped, as NumPy does.
func (h *histogram) build(x []float64, d, bins int, lo, hi []float64) {
	cells := 1
	for range d {
		cells *= bins
	}
	if len(h.counts) != cells {
		h.counts = make([]int32, cells)
	} else {
		for _, c := range h.nz {
			h.counts[c] = 0
		}
	}
	h.nz = h.nz[:0]
	n := len(x) / d
	vol := 1.0
	for a := range d {
		vol *= (hi[a] - lo[a]) / float64(bins)
	}
	h.n = n
	h.logNV = math.Log(float64(n) * vol)
	for i := range n {
		idx := 0
		inside := true
		for a := range d {
			v := x[i*d+a]
			if v < lo[a] || v > hi[a] {
				inside = false
				break
			}
			b := int((v - lo[a]) / (hi[a] - lo[a]) * float64(bins))
			if b >= bins {
				b = bins - 1 // the last bin is closed on the right
			}
			idx = idx*bins + b
		}
		if !inside {
			continue
		}
		if h.counts[idx] == 0 {
			h.nz = append(h.nz, int32(idx))
		}
		h.counts[idx]++
	}
}

// logTable holds log(c) for small counts so that the estimator's inner loop
// needs no logarithm calls.
var logTable = func() []float64 {
	t := make([]float64, 4097)
	t[0] = math.Inf(-1)
	for i := 1; i < len(t); i++ {
		t[i] = math.Log(float64(i))
	}
	return t
}()

var logClip = math.Log(histClip)

// logDensity is log max(count/(n·vol), 1e-10) of a cell with count c.
func (h *histogram) logDensity(c int32) float64 {
	if c == 0 {
		return logClip
	}
	var lc float64
	if int(c) < len(logTable) {
		lc = logTable[c]
	} else {
		lc = math.Log(float64(c))
	}
	if v := lc - h.logNV; v > logClip {
		return v
	}
	return logClip
}

// logSum is log Σ_cells max(density, 1e-10).
func (h *histogram) logSum() float64 {
	var s float64
	if -h.logNV > logClip {
		// Every non-empty cell is above the clip: their sum is exact.
		var c int
		for _, i := range h.nz {
			c += int(h.counts[i])
		}
		s = float64(c) * math.Exp(-h.logNV)
	} else {
		for _, i := range h.nz {
			s += math.Exp(h.logDensity(h.counts[i]))
		}
	}
	s += histClip * float64(len(h.counts)-len(h.nz))
	return math.Log(s)
}

// histKL is scipy.stats.entropy(p, q) of the two clipped density grids
// compared cell by cell: Σ p̃ log(p̃/q̃) with p̃, q̃ normalised to sum 1. The
// grids must have the same number of cells; whether those cells cover the
// same region depends on how the histograms were built. mark is scratch of
// the grid's size.
func histKL(p, q *histogram, mark []bool) float64 {
	lsp, lsq := p.logSum(), q.logSum()
	var kl float64
	union := 0
	scale := math.Exp(-lsp) // p̃ = density · scale
	invNV := math.Exp(-p.logNV)
	term := func(i int32) {
		ld := p.logDensity(p.counts[i])
		lq := q.logDensity(q.counts[i]) - lsq
		var dens float64
		if ld == logClip {
			dens = histClip
		} else {
			dens = float64(p.counts[i]) * invNV
		}
		kl += dens * scale * (ld - lsp - lq)
	}
	for _, i := range p.nz {
		mark[i] = true
		union++
		term(i)
	}
	for _, i := range q.nz {
		if !mark[i] {
			union++
			term(i)
		}
	}
	for _, i := range p.nz {
		mark[i] = false
	}
	// Cells empty in both: each contributes (e/Sp)·log(Sq/Sp).
	if rest := len(p.counts) - union; rest > 0 {
		kl += float64(rest) * histClip * math.Exp(-lsp) * (lsq - lsp)
	}
	return kl
}

// HistKL is the reference code's estimator on two sample sets (n·d values
// each): each gets a bins-per-axis histogram on its own range, and the two
// grids are compared cell by cell. It is exposed so that its defect can be
// shown: a sample and its shifted copy give KL ≈ 0.
func HistKL(p, q []float64, d, bins int) float64 {
	var hp, hq histogram
	lo, hi := make([]float64, d), make([]float64, d)
	histEdges(p, d, lo, hi)
	hp.build(p, d, bins, lo, hi)
	histEdges(q, d, lo, hi)
	hq.build(q, d, bins, lo, hi)
	return histKL(&hp, &hq, make([]bool, len(hp.counts)))
}

// HistSharedKL is the histogram estimator with one grid for both samples,
// spanning the union of their ranges, so that cells correspond.
func HistSharedKL(p, q []float64, d, bins int) float64 {
	var hp, hq histogram
	lo, hi := sharedEdges(p, q, d)
	hp.build(p, d, bins, lo, hi)
	hq.build(q, d, bins, lo, hi)
	return histKL(&hp, &hq, make([]bool, len(hp.counts)))
}

func sharedEdges(p, q []float64, d int) (lo, hi []float64) {
	lo, hi = make([]float64, d), make([]float64, d)
	l2, h2 := make([]float64, d), make([]float64, d)
	histEdges(p, d, lo, hi)
	histEdges(q, d, l2, h2)
	for a := range d {
		lo[a] = math.Min(lo[a], l2[a])
		hi[a] = math.Max(hi[a], h2[a])
	}
	return lo, hi
}
