package quant

import "fmt"

// DotRow returns the product of one weight row of type t (the raw bytes
// of len(w)/BlockBytes blocks) with the activation a, which must have been
// prepared for t ([Act.Set]) and hold as many values as the row. It does
// not check its arguments; [CheckRow] does.
func DotRow(t Type, w []byte, a *Act) float32 {
	if useAsm {
		if f := asmDot[t]; f != nil {
			return f(w, a)
		}
	}
	return dotGo(t, w, a)
}

// dotGo is DotRow with the portable kernels only.
func dotGo(t Type, w []byte, a *Act) float32 {
	switch t {
	case F32:
		return dotF32Go(w, a.F)
	case F16:
		return dotF16Go(w, a.F)
	case BF16:
		return dotBF16Go(w, a.F)
	case Q8_0:
		return dotQ8_0Go(w, a)
	case Q4_0:
		return dotQ4_0Go(w, a)
	case Q4_1:
		return dotQ4_1Go(w, a)
	case Q5_0:
		return dotQ5Go(w, a, false)
	case Q5_1:
		return dotQ5Go(w, a, true)
	case Q4_K:
		return dotQ4_KGo(w, a)
	case Q5_K:
		return dotQ5_KGo(w, a)
	case Q6_K:
		return dotQ6_KGo(w, a)
	case Q8_K:
		return dotQ8_KGo(w, a)
	}
	return 0
}

// CheckRow reports whether w is one row of n values of type t and a was
// prepared for it.
func CheckRow(t Type, w []byte, n int, a *Act) error {
	rb, err := RowBytes(t, n)
	if err != nil {
		return err
	}
	if len(w) != rb {
		return fmt.Errorf("%s row of %d values: %d bytes, want %d", t, n, len(w), rb)
	}
	if a.N != n || a.Type != t.ActType() {
		return fmt.Errorf("%s row of %d values: activation of %d values as %s, want %s", t, n, a.N, a.Type, t.ActType())
	}
	return nil
}

// Matrix is a row-major weight matrix kept in its file encoding: Rows rows
// of Cols values, each row RowBytes(Type, Cols) bytes of Data.
type Matrix struct {
	Type       Type
	Rows, Cols int
	Data       []byte
}

// NewMatrix checks that data holds exactly rows×cols values of type t.
func NewMatrix(t Type, rows, cols int, data []byte) (Matrix, error) {
	rb, err := RowBytes(t, cols)
	if err != nil {
		return Matrix{}, err
	}
	if rows <= 0 || int64(len(data)) != int64(rows)*int64(rb) {
		return Matrix{}, fmt.Errorf("%s matrix %d×%d: %d bytes, want %d", t, rows, cols, len(data), int64(rows)*int64(rb))
	}
	return Matrix{Type: t, Rows: rows, Cols: cols, Data: data}, nil
}

// RowBytes returns the bytes of one row.
func (m *Matrix) RowBytes() int { return len(m.Data) / m.Rows }

// Row returns the bytes of row i.
func (m *Matrix) Row(i int) []byte {
	rb := len(m.Data) / m.Rows
	return m.Data[i*rb : (i+1)*rb]
}

// MatVec sets out[i-lo] = row i · a for rows i in [lo, hi).
func (m *Matrix) MatVec(out []float32, a *Act, lo, hi int) {
	rb := len(m.Data) / m.Rows
	out = out[:hi-lo]
	t := m.Type
	if useAsm {
		if f := asmDot[t]; f != nil {
			for i := range out {
				out[i] = f(m.Data[(lo+i)*rb:(lo+i+1)*rb], a)
			}
			return
		}
	}
	for i := range out {
		out[i] = dotGo(t, m.Data[(lo+i)*rb:(lo+i+1)*rb], a)
	}
}

// MatMul sets out[j][i] = row i · acts[j] for rows i in [lo, hi) and
// every activation j: a matrix–matrix product that reads each tile of
// weight rows once for all activations (rows are taken in tiles that fit
// the first-level cache).
//
// Where the type has a four-activation kernel, each weight block is loaded
// and unpacked once for four activations; every result is still bit for
// bit the one MatVec gives.
func (m *Matrix) MatMul(out [][]float32, acts []*Act, lo, hi int) {
	rb := len(m.Data) / m.Rows
	tile := max(1, min(16, (24<<10)/max(rb, 1)))
	var f4 func([]byte, *[4]*Act, *[4]float32)
	if useAsm {
		f4 = asmDot4[m.Type]
	}
	for r0 := lo; r0 < hi; r0 += tile {
		r1 := min(r0+tile, hi)
		j := 0
		if f4 != nil {
			var res [4]float32
			for ; j+4 <= len(acts); j += 4 {
				a4 := (*[4]*Act)(acts[j : j+4])
				o0, o1, o2, o3 := out[j][r0:r1], out[j+1][r0:r1], out[j+2][r0:r1], out[j+3][r0:r1]
				for i := r0; i < r1; i++ {
					f4(m.Data[i*rb:(i+1)*rb], a4, &res)
					o0[i-r0], o1[i-r0], o2[i-r0], o3[i-r0] = res[0], res[1], res[2], res[3]
				}
			}
		}
		for ; j < len(acts); j++ {
			m.MatVec(out[j][r0:r1], acts[j], r0, r1)
		}
	}
}

// Dequantize expands the whole matrix to float32 (Rows×Cols values).
func (m *Matrix) Dequantize(dst []float32) error {
	return Dequantize(m.Type, m.Data, dst)
}
