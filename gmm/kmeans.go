package gmm

import (
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
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
func kmeansPP(rng *rand.Rand, x []float64, n, d, k, workers int) []float64 {
	// For d ≥ 8, squared distances come from ‖x‖² − 2x·c + ‖c‖².
	var norms []float64
	if d >= 8 {
		norms = pointNorms(x, n, d, workers)
	}
	return kmeansPPNorms(rng, x, n, d, k, workers, norms)
}

// pointNorms returns ‖x_i‖² for every point, computed in parallel blocks.
func pointNorms(x []float64, n, d, workers int) []float64 {
	norms := make([]float64, n)
	forBlocks((n+blockSize-1)/blockSize, workers, n*d >= 20000, func(b int) {
		for i := b * blockSize; i < min((b+1)*blockSize, n); i++ {
			xi := x[i*d : (i+1)*d]
			norms[i] = dot(xi, xi)
		}
	})
	return norms
}

// kmeansPPNorms is kmeansPP with the point norms given (nil for d < 8).
func kmeansPPNorms(rng *rand.Rand, x []float64, n, d, k, workers int, norms []float64) []float64 {
	centers := make([]float64, 0, k*d)
	first := rng.IntN(n)
	centers = append(centers, x[first*d:(first+1)*d]...)
	closest := make([]float64, n)
	forBlocks((n+blockSize-1)/blockSize, workers, n*d >= 20000, func(b int) {
		for i := b * blockSize; i < min((b+1)*blockSize, n); i++ {
			closest[i] = sqDist(x[i*d:(i+1)*d], centers[:d])
		}
	})
	trials := 2 + int(math.Log(float64(k)))
	cum := make([]float64, n)
	cand := make([]int, trials)
	bestDist := make([]float64, n)
	tmp := make([]float64, trials*n)
	for c := 1; c < k; c++ {
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
		forBlocks(blocks, workers, n*trials*d >= 20000, func(b int) {
			var q [4]float64
			// Local sums: neighbouring blocks' entries of pots share cache
			// lines, so writing them in the loop would make cores fight.
			local := make([]float64, trials)
			for i := b * blockSize; i < min((b+1)*blockSize, n); i++ {
				xi := x[i*d : (i+1)*d]
				for t0 := 0; t0 < trials; t0 += 4 {
					if norms != nil {
						dot4(xi, crow[t0*d:], d, &q)
					}
					for t := t0; t < min(t0+4, trials); t++ {
						var v float64
						if norms != nil {
							v = norms[i] - 2*q[t-t0] + cnorm[t]
							if v < 0 {
								v = 0
							}
						} else {
							v = sqDist(xi, crow[t*d:(t+1)*d])
						}
						if closest[i] < v {
							v = closest[i]
						}
						tmp[t*n+i] = v
						local[t] += v
					}
				}
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
		copy(bestDist, tmp[bt*n:(bt+1)*n])
		centers = append(centers, x[best*d:(best+1)*d]...)
		copy(closest, bestDist)
	}
	return centers
}

// assign writes each point's nearest centre into labels and its squared
// distance into dist, over blocks of points on up to workers goroutines.
func assign(x, centers []float64, n, d, k int, labels []int, dist []float64, workers int) {
	cn := make([]float64, k)
	for c := range k {
		cc := centers[c*d : (c+1)*d]
		cn[c] = dot(cc, cc)
	}
	blocks := (n + blockSize - 1) / blockSize
	forBlocks(blocks, workers, n*k*d >= 20000, func(b int) {
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

// forBlocks runs f for every block, on up to workers goroutines when
// parallel is true. Callers keep results independent of the schedule by
// writing per-block outputs.
func forBlocks(blocks, workers int, parallel bool, f func(b int)) {
	if workers > blocks {
		workers = blocks
	}
	if workers <= 1 || !parallel {
		for b := range blocks {
			f(b)
		}
		return
	}
	var wg sync.WaitGroup
	var next atomic.Int64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				b := int(next.Add(1) - 1)
				if b >= blocks {
					return
				}
				f(b)
			}
		}()
	}
	wg.Wait()
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
func kmeans(rng *rand.Rand, x []float64, n, d, k, workers int) []int {
	norms := pointNorms(x, n, d, workers)
	var ppNorms []float64
	if d >= 8 {
		ppNorms = norms
	}
	centers := kmeansPPNorms(rng, x, n, d, k, workers, ppNorms)
	labels := make([]int, n)
	upper := make([]float64, n)
	lower := make([]float64, n)
	for i := range upper {
		upper[i] = math.Inf(1)
	}
	counts := make([]int, k)
	next := make([]float64, k*d)
	half := make([]float64, k) // half the distance to the nearest other centre
	move := make([]float64, k) // how far each centre moved in the last update
	var maxMove float64
	cn := make([]float64, k+3)
	padded := make([]float64, (k+3)*d)
	mt := make([]float64, d*32) // transposed centres for k ≤ 32

	var tol float64
	mean := make([]float64, d)
	for i := range n {
		for j := range d {
			mean[j] += x[i*d+j]
		}
	}
	for j := range d {
		mean[j] /= float64(n)
	}
	for i := range n {
		for j := range d {
			t := x[i*d+j] - mean[j]
			tol += t * t
		}
	}
	tol = 1e-4 * tol / float64(n*d)

	blocks := (n + blockSize - 1) / blockSize
	pCounts := make([]int, blocks*k)
	pNext := make([]float64, blocks*k*d)
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
		forBlocks(blocks, workers, n*k*d >= 20000, func(b int) {
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
			for ii := range up {
				i := lo + ii
				// The centres moved since the bounds were set: loosen them.
				a := lab[ii]
				u := up[ii] + mv[a]
				l := low[ii] - mm
				low[ii] = l
				m := hf[a]
				if l > m {
					m = l
				}
				if u <= m {
					up[ii] = u
					continue
				}
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
				u = math.Sqrt(u2)
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
			sums(x, labels, n, d, k, blocks, workers, pCounts, pNext, counts, next)
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

// sums computes each cluster's size and coordinate sum from scratch, per
// block and reduced in block order.
func sums(x []float64, labels []int, n, d, k, blocks, workers int, pCounts []int, pNext []float64, counts []int, next []float64) {
	forBlocks(blocks, workers, n*d >= 20000, func(b int) {
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
