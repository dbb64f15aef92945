package gmm

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// sqDist is the squared Euclidean distance between a and b.
func sqDist(a, b []float64) float64 {
	var s float64
	for i := range a {
		t := a[i] - b[i]
		s += t * t
	}
	return s
}

// kmeansPP picks k initial centres from the n points of x by greedy
// k-means++ (each step draws 2+⌊ln k⌋ candidates with probability
// proportional to the squared distance to the nearest chosen centre and
// keeps the one that lowers the potential most). It returns k·d values.
func kmeansPP(rng *rand.Rand, x []float64, n, d, k int, tm *team, stop func() bool) []float64 {
	// For d ≥ 8, squared distances come from ‖x‖² − 2x·c + ‖c‖².
	var norms []float64
	if d >= 8 {
		norms = pointNorms(x, n, d, tm)
	}
	return kmeansPPNorms(rng, x, n, d, k, tm, norms, nil, stop)
}

// pointNorms returns ‖x_i‖² for every point, computed in parallel blocks.
func pointNorms(x []float64, n, d int, tm *team) []float64 {
	norms := make([]float64, n)
	tm.run((n+blockSize-1)/blockSize, n*d >= 20000, func(b int) {
		for i := b * blockSize; i < min((b+1)*blockSize, n); i++ {
			xi := x[i*d : (i+1)*d]
			norms[i] = dot(xi, xi)
		}
	})
	return norms
}

// ppNearest is what k-means++ learns about each point on the way: the
// nearest of the chosen centres (label) and the squared distances to it
// (d1) and to the second nearest (d2, +Inf while there is one centre).
type ppNearest struct {
	labels []int
	d1, d2 []float64
}

// kmeansPPNorms is kmeansPP with the point norms given (nil for d < 8).
// When near is not nil, it also fills near (each slice of length n).
func kmeansPPNorms(rng *rand.Rand, x []float64, n, d, k int, tm *team, norms []float64, near *ppNearest, stop func() bool) []float64 {
	centers := make([]float64, 0, k*d)
	first := rng.IntN(n)
	centers = append(centers, x[first*d:(first+1)*d]...)
	closest := make([]float64, n)
	tm.run((n+blockSize-1)/blockSize, n*d >= 20000, func(b int) {
		for i := b * blockSize; i < min((b+1)*blockSize, n); i++ {
			closest[i] = sqDist(x[i*d:(i+1)*d], centers[:d])
		}
	})
	if near != nil {
		clear(near.labels)
		copy(near.d1, closest)
		for i := range near.d2 {
			near.d2[i] = math.Inf(1)
		}
	}
	trials := 2 + int(math.Log(float64(k)))
	cum := make([]float64, n)
	cand := make([]int, trials)
	tmp := make([]float64, trials*n)
	for c := 1; c < k; c++ {
		if stop != nil && stop() {
			return nil
		}
		var s float64
		for i, v := range closest {
			s += v
			cum[i] = s
		}
		for t := range trials {
			if s > 0 {
				u := rng.Float64() * s
				j := sort.SearchFloat64s(cum, u)
				if j >= n {
					j = n - 1
				}
				cand[t] = j
			} else {
				// Every point coincides with a centre: any choice is as good.
				cand[t] = rng.IntN(n)
			}
		}
		// Evaluate every candidate at once, over blocks of points: the
		// candidates' rows are copied into a contiguous, 4-padded matrix.
		nc := (trials + 3) &^ 3
		crow := make([]float64, nc*d)
		cnorm := make([]float64, nc)
		for t, j := range cand {
			copy(crow[t*d:(t+1)*d], x[j*d:(j+1)*d])
			cnorm[t] = dot(crow[t*d:(t+1)*d], crow[t*d:(t+1)*d])
		}
		blocks := (n + blockSize - 1) / blockSize
		pots := make([]float64, blocks*trials)
		tm.run(blocks, n*trials*d >= 20000, func(b int) {
			var q [4]float64
			// Local sums: neighbouring blocks' entries of pots share cache
			// lines, so writing them in the loop would make cores fight.
			local := make([]float64, trials)
			lo, hi := b*blockSize, min((b+1)*blockSize, n)
			for t0 := 0; t0 < trials; t0 += 4 {
				// Up to four candidates per pass over the block, their
				// sums in registers.
				nt := min(4, trials-t0)
				q = [4]float64{}
				var s0, s1, s2, s3 float64
				for i := lo; i < hi; i++ {
					xi := x[i*d : (i+1)*d]
					if norms != nil {
						dot4(xi, crow[t0*d:], d, &q)
						for t := range nt {
							v := norms[i] - 2*q[t] + cnorm[t0+t]
							if v < 0 {
								v = 0
							}
							q[t] = v
						}
					} else {
						for t := range nt {
							q[t] = sqDist(xi, crow[(t0+t)*d:(t0+t+1)*d])
						}
					}
					for t := range nt {
						tmp[(t0+t)*n+i] = q[t]
					}
					ci := closest[i]
					s0 += min(q[0], ci)
					s1 += min(q[1], ci)
					s2 += min(q[2], ci)
					s3 += min(q[3], ci)
				}
				ss := [4]float64{s0, s1, s2, s3}
				copy(local[t0:t0+nt], ss[:nt])
			}
			copy(pots[b*trials:(b+1)*trials], local)
		})
		bestPot := math.Inf(1)
		bt := 0
		for t := range trials {
			var p float64
			for b := range blocks {
				p += pots[b*trials+t]
			}
			if p < bestPot {
				bestPot, bt = p, t
			}
		}
		best := cand[bt]
		centers = append(centers, x[best*d:(best+1)*d]...)
		raw := tmp[bt*n : (bt+1)*n]
		tm.run(blocks, n*d >= 20000, func(b int) {
			lo, hi := b*blockSize, min((b+1)*blockSize, n)
			if near != nil {
				lab, d1, d2 := near.labels[lo:hi], near.d1[lo:hi], near.d2[lo:hi]
				for i, v := range raw[lo:hi] {
					if v < d1[i] {
						d2[i], d1[i], lab[i] = d1[i], v, c
					} else if v < d2[i] {
						d2[i] = v
					}
				}
			}
			cl := closest[lo:hi]
			for i, v := range raw[lo:hi] {
				cl[i] = min(cl[i], v)
			}
		})
	}
	return centers
}

// assign writes each point's nearest centre into labels and its squared
// distance into dist, over blocks of points on the team.
func assign(x, centers []float64, n, d, k int, labels []int, dist []float64, tm *team) {
	cn := make([]float64, k)
	for c := range k {
		cc := centers[c*d : (c+1)*d]
		cn[c] = dot(cc, cc)
	}
	blocks := (n + blockSize - 1) / blockSize
	tm.run(blocks, n*k*d >= 20000, func(b int) {
		for i := b * blockSize; i < min((b+1)*blockSize, n); i++ {
			xi := x[i*d : (i+1)*d]
			best, bd := 0, math.Inf(1)
			if d >= 8 {
				// ‖x−c‖² = ‖x‖² − 2x·c + ‖c‖² with vector dot products.
				xx := dot(xi, xi)
				var q [4]float64
				c := 0
				for ; c+4 <= k; c += 4 {
					dot4(xi, centers[c*d:], d, &q)
					for t := range 4 {
						if v := xx - 2*q[t] + cn[c+t]; v < bd {
							best, bd = c+t, v
						}
					}
				}
				for ; c < k; c++ {
					if v := xx - 2*dot(xi, centers[c*d:(c+1)*d]) + cn[c]; v < bd {
						best, bd = c, v
					}
				}
				if bd < 0 {
					bd = 0
				}
			} else {
				for c := range k {
					if v := sqDist(xi, centers[c*d:(c+1)*d]); v < bd {
						best, bd = c, v
					}
				}
			}
			labels[i] = best
			dist[i] = bd
		}
	})
}

// kmeans runs Lloyd's algorithm from k-means++ centres and returns the hard
// labels. It uses Hamerly's bounds (an upper bound on each point's distance
// to its centre and a lower bound on the distance to the next nearest) to
// skip distance computations that cannot change an assignment, so it makes
// the same assignments as plain Lloyd at a fraction of the cost. Empty
// clusters are moved to the point farthest from its centre. It stops when
// the summed squared centre shift falls below 1e-4 times the mean
// per-dimension variance of the data (scikit-learn's rule) or after 300
// iterations.
func kmeans(rng *rand.Rand, x []float64, n, d, k int, tm *team, stop func() bool) []int {
	norms := pointNorms(x, n, d, tm)
	var ppNorms []float64
	if d >= 8 {
		ppNorms = norms
	}
	// k-means++ measures every point's distance to every centre it picks:
	// its nearest and second nearest give the first assignment and
	// Hamerly's bounds.
	labels := make([]int, n)
	upper := make([]float64, n)
	lower := make([]float64, n)
	centers := kmeansPPNorms(rng, x, n, d, k, tm, ppNorms, &ppNearest{labels, upper, lower}, stop)
	if centers == nil {
		return nil
	}
	for i := range upper {
		upper[i] = math.Sqrt(upper[i])
		lower[i] = math.Sqrt(lower[i])
	}
	counts := make([]int, k)
	next := make([]float64, k*d)
	half := make([]float64, k) // half the distance to the nearest other centre
	move := make([]float64, k) // how far each centre moved in the last update
	var maxMove float64
	cn := make([]float64, k+3)
	padded := make([]float64, (k+3)*d)
	mt := make([]float64, d*32) // transposed centres for k ≤ 32

	mean, _ := pointMean(x, n, d, tm)
	tol := 1e-4 * sqDeviation(x, n, d, mean, tm) / float64(n*d)

	blocks := (n + blockSize - 1) / blockSize
	pCounts := make([]int, blocks*k)
	pNext := make([]float64, blocks*k*d)
	pWork := make([]int32, n)
	// update tightens the bounds and reassigns the points that need it.
	update := func() {
		for c := range k {
			h := math.Inf(1)
			for o := range k {
				if o != c {
					h = math.Min(h, sqDist(centers[c*d:(c+1)*d], centers[o*d:(o+1)*d]))
				}
			}
			half[c] = 0.5 * math.Sqrt(h)
			cn[c] = dot(centers[c*d:(c+1)*d], centers[c*d:(c+1)*d])
		}
		copy(padded, centers)
		for c := k; c < k+3; c++ {
			cn[c] = math.Inf(1)
		}
		if d >= 8 && k <= 32 {
			transpose32(centers, k, d, mt)
		}
		tm.run(blocks, n*k*d >= 20000, func(b int) {
			var q [4]float64
			var o32 [32]float64
			// Changes of the cluster sums caused by points that switch
			// cluster, kept locally and copied out once.
			dc := make([]int, k)
			dn := make([]float64, k*d)
			defer func() {
				copy(pCounts[b*k:(b+1)*k], dc)
				copy(pNext[b*k*d:(b+1)*k*d], dn)
			}()
			// Locals, so that the loop keeps them in registers.
			lo, hi := b*blockSize, min((b+1)*blockSize, n)
			up, low, lab := upper[lo:hi], lower[lo:hi], labels[lo:hi]
			mm := maxMove
			mv, hf := move[:k], half[:k]
			// The centres moved since the bounds were set: loosen them all
			// first, listing the points whose bounds no longer settle their
			// assignment (a loop without unpredictable branches), then
			// handle those.
			work := pWork[lo:hi]
			nw := 0
			for ii := range up {
				a := lab[ii]
				u := up[ii] + mv[a]
				l := low[ii] - mm
				up[ii], low[ii] = u, l
				work[nw] = int32(ii)
				if u > max(hf[a], l) {
					nw++
				}
			}
			for _, w := range work[:nw] {
				ii := int(w)
				i := lo + ii
				a := lab[ii]
				m := max(hf[a], low[ii])
				xi := x[i*d : (i+1)*d]
				var u2 float64
				if d >= 8 {
					u2 = norms[i] - 2*dot(xi, centers[a*d:(a+1)*d]) + cn[a]
					if u2 < 0 {
						u2 = 0
					}
				} else {
					u2 = sqDist(xi, centers[a*d:(a+1)*d])
				}
				u := math.Sqrt(u2)
				up[ii] = u
				if u <= m {
					continue
				}
				best, second := math.Inf(1), math.Inf(1)
				bi := a
				if d >= 8 && k <= 32 {
					// All k dot products at once against the transposed centres.
					gemvT32(xi, mt, k, &o32)
					nx := norms[i]
					for c := range k {
						v := nx - 2*o32[c] + cn[c]
						if v < 0 {
							v = 0
						}
						if v < best {
							second, best, bi = best, v, c
						} else if v < second {
							second = v
						}
					}
				} else {
					for c := range k {
						var v float64
						if d >= 8 {
							if c&3 == 0 {
								dot4(xi, padded[c*d:], d, &q)
							}
							v = norms[i] - 2*q[c&3] + cn[c]
							if v < 0 {
								v = 0
							}
						} else {
							v = sqDist(xi, centers[c*d:(c+1)*d])
						}
						if v < best {
							second, best, bi = best, v, c
						} else if v < second {
							second = v
						}
					}
				}
				if bi != a {
					dc[a]--
					dc[bi]++
					axpy(-1, xi, dn[a*d:(a+1)*d])
					axpy(1, xi, dn[bi*d:(bi+1)*d])
				}
				lab[ii] = bi
				up[ii] = math.Sqrt(best)
				low[ii] = math.Sqrt(second)
			}
		})
	}
	for iter := 0; iter < 300; iter++ {
		if stop != nil && stop() {
			return nil
		}
		update()
		clear(move)
		maxMove = 0
		if iter > 0 {
			// Only points that switched cluster change the sums.
			for b := range blocks {
				for c := range k {
					counts[c] += pCounts[b*k+c]
				}
				axpy(1, pNext[b*k*d:(b+1)*k*d], next)
			}
		} else {
			sums(x, labels, n, d, k, blocks, tm, pCounts, pNext, counts, next)
		}
		// Move empty clusters to the farthest point, taking it from its
		// cluster; repeat while that empties another.
		for pass := 0; pass <= k; pass++ {
			moved := false
			for c := range k {
				if counts[c] > 0 {
					continue
				}
				far := -1
				for i := range n {
					if counts[labels[i]] > 1 && (far < 0 || upper[i] > upper[far]) {
						far = i
					}
				}
				if far < 0 {
					break // fewer distinct points than clusters
				}
				old := labels[far]
				counts[old]--
				axpy(-1, x[far*d:(far+1)*d], next[old*d:(old+1)*d])
				labels[far] = c
				upper[far], lower[far] = 0, 0
				counts[c] = 1
				copy(next[c*d:(c+1)*d], x[far*d:(far+1)*d])
				moved = true
			}
			if !moved {
				break
			}
		}
		var shift float64
		for c := range k {
			if counts[c] == 0 {
				move[c] = 0
				continue
			}
			inv := 1 / float64(counts[c])
			var m float64
			for j := range d {
				v := next[c*d+j] * inv
				t := v - centers[c*d+j]
				m += t * t
				centers[c*d+j] = v
			}
			shift += m
			move[c] = math.Sqrt(m)
			maxMove = math.Max(maxMove, move[c])
		}
		if shift <= tol {
			break
		}
	}
	update()
	return labels
}

// pointMean returns the mean of the n points of x, from per-block sums
// added in block order, and the index of the first value of x that is not
// finite (−1 when all are).
func pointMean(x []float64, n, d int, tm *team) (mean []float64, bad int) {
	blocks := (n + blockSize - 1) / blockSize
	part := make([]float64, blocks*d)
	pBad := make([]int, blocks)
	tm.run(blocks, n*d >= 20000, func(b int) {
		s := make([]float64, d)
		pBad[b] = -1
		lo, hi := b*blockSize*d, min((b+1)*blockSize, n)*d
		for i := lo; i < hi; i += d {
			for a, v := range x[i : i+d] {
				s[a] += v
			}
		}
		// A value that is not finite makes its coordinate's sum so.
		finite := true
		for _, v := range s {
			finite = finite && v-v == 0
		}
		if !finite {
			for i, v := range x[lo:hi] {
				if v-v != 0 { // NaN or ±Inf
					pBad[b] = lo + i
					break
				}
			}
		}
		copy(part[b*d:(b+1)*d], s)
	})
	mean = make([]float64, d)
	for b := range blocks {
		if pBad[b] >= 0 {
			return nil, pBad[b]
		}
		for a := range d {
			mean[a] += part[b*d+a]
		}
	}
	for a := range d {
		mean[a] /= float64(n)
	}
	return mean, -1
}

// sqDeviation returns Σ‖x_i − mean‖² over the n points of x, from
// per-block sums added in block order.
func sqDeviation(x []float64, n, d int, mean []float64, tm *team) float64 {
	blocks := (n + blockSize - 1) / blockSize
	part := make([]float64, blocks)
	tm.run(blocks, n*d >= 20000, func(b int) {
		s := make([]float64, d)
		for i := b * blockSize * d; i < min((b+1)*blockSize, n)*d; i += d {
			for a, v := range x[i : i+d] {
				t := v - mean[a]
				s[a] += t * t
			}
		}
		var t float64
		for _, v := range s {
			t += v
		}
		part[b] = t
	})
	var t float64
	for _, v := range part {
		t += v
	}
	return t
}

// sums computes each cluster's size and coordinate sum from scratch, per
// block and reduced in block order.
func sums(x []float64, labels []int, n, d, k, blocks int, tm *team, pCounts []int, pNext []float64, counts []int, next []float64) {
	tm.run(blocks, n*d >= 20000, func(b int) {
		// Local sums, copied out once: neighbouring blocks' entries share
		// cache lines.
		pc := make([]int, k)
		pn := make([]float64, k*d)
		for i := b * blockSize; i < min((b+1)*blockSize, n); i++ {
			c := labels[i]
			pc[c]++
			axpy(1, x[i*d:(i+1)*d], pn[c*d:(c+1)*d])
		}
		copy(pCounts[b*k:(b+1)*k], pc)
		copy(pNext[b*k*d:(b+1)*k*d], pn)
	})
	clear(counts)
	clear(next)
	for b := range blocks {
		for c := range k {
			counts[c] += pCounts[b*k+c]
		}
		axpy(1, pNext[b*k*d:(b+1)*k*d], next)
	}
}

// KMeans clusters the n = len(x)/d points of the row-major x into k
// clusters and returns each point's cluster: greedy k-means++ seeding,
// then Lloyd iterations with Hamerly's bounds until the summed squared
// centre shift falls below 1e-4 times the mean per-dimension variance
// (scikit-learn's rule) or after 300 iterations; an empty cluster takes
// the point farthest from its centre. It is the k-means of [InitKMeans].
// seed fixes the result; workers
// goroutines share the work (0 or 1: the caller's alone). It returns
// ctx's error when ctx ends first.
func KMeans(ctx context.Context, x []float64, d, k int, seed uint64, workers int) ([]int, error) {
	if d < 1 || len(x) == 0 || len(x)%d != 0 {
		return nil, fmt.Errorf("gmm: k-means needs points of d ≥ 1 values (got %d values, d = %d)", len(x), d)
	}
	n := len(x) / d
	if k < 1 || k > n {
		return nil, fmt.Errorf("gmm: k-means needs 1 ≤ k ≤ n (k = %d, n = %d)", k, n)
	}
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("gmm: k-means input: value %d of point %d is %v", i%d+1, i/d+1, v)
		}
	}
	tm := newTeam(max(workers, 1))
	defer tm.close()
	rng := rand.New(rand.NewPCG(seed, 0xbeef))
	labels := kmeans(rng, x, n, d, k, tm, func() bool { return ctx.Err() != nil })
	if labels == nil {
		return nil, ctx.Err()
	}
	return labels, nil
}
