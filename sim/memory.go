package sim

import (
	"math"
	"runtime"
	"unsafe"

	"github.com/ggmi-dev/ggmi/internal/budget"
)

// MemoryEstimate returns the bytes a run of o will hold at its peak, term by
// term with the flag of the command line that drives each term, so that a
// caller can refuse a run that cannot fit before allocating anything. It is
// an upper-bound-minded estimate, not an exact count.
func (o *Options) MemoryEstimate() []budget.Term {
	workers := o.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	c := o.Config
	// The largest K, J, L the sweeps reach.
	k, j, l := float64(c.K), float64(c.J), float64(c.L)
	for _, v := range o.Sweeps {
		hi := float64(max(o.To, o.From))
		switch v {
		case VarK:
			k = max(k, hi)
		case VarJ:
			j = max(j, hi)
		case VarL:
			l = max(l, hi)
		}
	}
	d := float64(c.Dim)
	const f = 8.0 // bytes per float64
	comps := k + j + l
	mix := func(kc float64) float64 { return kc * (2*d*d + 2*d + 4) * f }
	em := func(n, kc float64) float64 {
		blocks := n/256 + 1
		nf := d*(d+1)/2 + d + 1
		feat := 0.0
		if d >= 4 {
			feat = blocks*kc*nf + blocks*16*nf + kc*nf + n/2
		}
		trials := 2 + math.Log(kc+1)
		return f*(2*n*d+2*n*kc+trials*n+3*n+blocks*kc*(1+d+d*d)+feat) + 4*mix(kc)
	}
	anchors := k * float64(c.AnchorPerComp)
	synth := float64(c.Synthetic)
	ac := k
	switch {
	case c.AnchorComponents > 0:
		ac = float64(c.AnchorComponents)
	case c.AnchorComponents == AnchorKJL:
		ac = comps
	}
	world := f*(anchors*(d+1)+2*synth*(d+1)) + 3*mix(comps) + d*d*f*4
	emBytes := max(em(anchors, ac), em(synth, comps))
	mc := float64(c.MCSamples) * f * (d + 8)
	hist := 0.0
	if c.has(Hist) || c.has(HistShared) {
		cells := math.Pow(float64(c.HistBins), d)
		m := float64(c.HistSamples)
		hist = 3*m*d*f + cells*(1+5*4) + 5*m*4
	}
	w := float64(workers)
	tasks := float64(o.Rounds)
	if len(o.Sweeps) > 0 {
		tasks *= float64(len(o.Sweeps)) * float64(o.To-o.From+1)
	}
	// Each round is kept, and the summaries copy its values per column.
	perRound := float64(unsafe.Sizeof(Round{})) + 48*f
	return []budget.Term{
		{Bytes: w * world, Flag: "--synthetic or --anchor-per-comp"},
		{Bytes: w * emBytes, Flag: "--synthetic, --anchor-per-comp or --dim"},
		{Bytes: w * mc, Flag: "--mc-samples"},
		{Bytes: w * hist, Flag: "--hist-bins or --hist-samples"},
		{Bytes: tasks * perRound, Flag: "--rounds"},
		{Bytes: 64 << 20}, // the program itself and the figures
	}
}
