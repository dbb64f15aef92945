package llama

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randVec(rng *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64() * scale)
	}
	return v
}

func close32(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

// TestGemm compares the blocked (and, where available, vector) product
// with a float64 reference, for plain and transposed left operands and
// shapes with every kind of tail, and checks that splitting the rows at
// multiples of 4 does not change a single bit.
func TestGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	pack := make([]float32, gemmPackLen)
	for _, sh := range [][3]int{{1, 1, 1}, {4, 16, 8}, {3, 5, 7}, {5, 9, 17}, {8, 172, 64}, {13, 30, 1030}, {6, 512, 3}, {4, 24, 0},
		{70, 1100, 300}, {133, 48, 600}} {
		rows, n, K := sh[0], sh[1], sh[2]
		for _, trans := range []bool{false, true} {
			a := randVec(rng, rows*K+1, 1)
			sai, sak := K, 1
			if trans { // a holds the K × rows transpose
				sai, sak = 1, rows
			}
			ldb := n + 2
			b := randVec(rng, K*ldb+1, 1)
			for _, c := range []struct {
				acc    bool
				packed []float32
			}{{false, nil}, {true, nil}, {false, pack}, {true, pack}} {
				acc := c.acc
				out := randVec(rng, rows*n, 1)
				prev := append([]float32(nil), out...)
				gemm(out, n, a, sai, sak, b, ldb, n, K, 0, rows, acc, c.packed)
				split := append([]float32(nil), prev...)
				mid := rows / 8 * 4
				gemm(split, n, a, sai, sak, b, ldb, n, K, 0, mid, acc, c.packed)
				gemm(split, n, a, sai, sak, b, ldb, n, K, mid, rows, acc, c.packed)
				for i := 0; i < rows; i++ {
					for j := 0; j < n; j++ {
						var s float64
						for k := 0; k < K; k++ {
							s += float64(a[i*sai+k*sak]) * float64(b[k*ldb+j])
						}
						if acc {
							s += float64(prev[i*n+j])
						}
						if !close32(float64(out[i*n+j]), s, 1e-5*math.Sqrt(float64(K+1))) {
							t.Fatalf("%v trans=%v acc=%v: out[%d][%d] = %g, want %g", sh, trans, acc, i, j, out[i*n+j], s)
						}
						if split[i*n+j] != out[i*n+j] {
							t.Fatalf("%v trans=%v acc=%v: split rows give %g, whole %g", sh, trans, acc, split[i*n+j], out[i*n+j])
						}
					}
				}
			}
		}
	}
}

// TestAttentionKernels compares the attention helpers with plain loops
// for lengths with and without a tail of fewer than 8 elements.
func TestAttentionKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, hs := range []int{4, 8, 16} {
		for _, n := range []int{1, 7, 8, 9, 31, 64} {
			ld := n + 3
			x := randVec(rng, hs, 1)
			mT := randVec(rng, hs*ld, 1)
			s := make([]float32, n)
			attnScores(s, x, mT, hs, ld)
			for j := range s {
				var want float64
				for i := 0; i < hs; i++ {
					want += float64(x[i]) * float64(mT[i*ld+j])
				}
				if !close32(float64(s[j]), want, 1e-5) {
					t.Fatalf("scores hs=%d n=%d: s[%d] = %g, want %g", hs, n, j, s[j], want)
				}
			}
			p := randVec(rng, n, 1)
			ldm := hs + 5
			m := randVec(rng, n*ldm, 1)
			o := randVec(rng, hs, 1)
			o0 := append([]float32(nil), o...)
			attnMix(o, p, m, ldm)
			for i := range o {
				want := float64(o0[i])
				for j := range p {
					want += float64(p[j]) * float64(m[j*ldm+i])
				}
				if !close32(float64(o[i]), want, 1e-5) {
					t.Fatalf("mix hs=%d n=%d: o[%d] = %g, want %g", hs, n, i, o[i], want)
				}
			}
			d := randVec(rng, hs*ld, 1)
			d0 := append([]float32(nil), d...)
			attnGer(d, x, p, ld)
			for i := 0; i < hs; i++ {
				for j := 0; j < ld; j++ {
					want := float64(d0[i*ld+j])
					if j < n {
						want += float64(x[i]) * float64(p[j])
					}
					if !close32(float64(d[i*ld+j]), want, 1e-6) {
						t.Fatalf("ger hs=%d n=%d: d[%d][%d] = %g, want %g", hs, n, i, j, d[i*ld+j], want)
					}
				}
			}
		}
	}
}

// TestSoftmaxAndExp checks the vector exponential and softmax against
// float64 for values across the whole useful range.
func TestSoftmaxAndExp(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{1, 5, 8, 13, 64, 257} {
		x := randVec(rng, n, 10)
		x[0] = -100 // underflows to (almost) zero
		want := make([]float64, n)
		mx := math.Inf(-1)
		for _, v := range x {
			mx = math.Max(mx, 0.5*float64(v))
		}
		var sum float64
		for i, v := range x {
			want[i] = math.Exp(0.5*float64(v) - mx)
			sum += want[i]
		}
		softmaxScaled(x, 0.5)
		for i := range x {
			if math.Abs(float64(x[i])-want[i]/sum) > 5e-6*want[i]/sum+1e-30 {
				t.Fatalf("n=%d: softmax[%d] = %g, want %g", n, i, x[i], want[i]/sum)
			}
		}
		y := randVec(rng, n, 20)
		y0 := append([]float32(nil), y...)
		expNeg(y)
		for i := range y {
			w := math.Exp(-float64(y0[i]))
			if w < 1e-37 || w > 1e38 {
				continue
			}
			if math.Abs(float64(y[i])-w) > 5e-7*w {
				t.Fatalf("n=%d: exp(%g) = %g, want %g", n, -y0[i], y[i], w)
			}
		}
	}
}

func TestTranspose(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, sh := range [][2]int{{1, 1}, {3, 5}, {16, 3}, {17, 33}, {40, 64}} {
		r, c := sh[0], sh[1]
		src := randVec(rng, r*c, 1)
		dst := make([]float32, r*c)
		transpose(dst, src, r, c)
		for i := 0; i < r; i++ {
			for j := 0; j < c; j++ {
				if dst[j*r+i] != src[i*c+j] {
					t.Fatalf("%v: dst[%d][%d] = %g, want %g", sh, j, i, dst[j*r+i], src[i*c+j])
				}
			}
		}
	}
}
