//go:build !purego

#include "textflag.h"

// func axpyAVX2(a float64, x, y []float64)
TEXT ·axpyAVX2(SB), NOSPLIT, $0-56
	VBROADCASTSD a+0(FP), Y0
	MOVQ         x_base+8(FP), SI
	MOVQ         x_len+16(FP), CX
	MOVQ         y_base+32(FP), DI

axpy16:
	CMPQ CX, $16
	JL   axpy4
	VMOVUPD     (DI), Y1
	VMOVUPD     32(DI), Y2
	VMOVUPD     64(DI), Y3
	VMOVUPD     96(DI), Y4
	VFMADD231PD (SI), Y0, Y1
	VFMADD231PD 32(SI), Y0, Y2
	VFMADD231PD 64(SI), Y0, Y3
	VFMADD231PD 96(SI), Y0, Y4
	VMOVUPD     Y1, (DI)
	VMOVUPD     Y2, 32(DI)
	VMOVUPD     Y3, 64(DI)
	VMOVUPD     Y4, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $16, CX
	JMP         axpy16

axpy4:
	CMPQ CX, $4
	JL   axpy1
	VMOVUPD     (DI), Y1
	VFMADD231PD (SI), Y0, Y1
	VMOVUPD     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $4, CX
	JMP         axpy4

axpy1:
	CMPQ CX, $0
	JE   axpydone
	VMOVSD      (DI), X1
	VFMADD231SD (SI), X0, X1
	VMOVSD      X1, (DI)
	ADDQ        $8, SI
	ADDQ        $8, DI
	DECQ        CX
	JMP         axpy1

axpydone:
	VZEROUPPER
	RET

// func dot4AVX2(x []float64, y *float64, stride int, out *[4]float64)
// out[j] = Σ_i x[i]·y[j*stride+i] for j = 0..3.
TEXT ·dot4AVX2(SB), NOSPLIT, $0-48
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVQ y+24(FP), R8
	MOVQ stride+32(FP), AX
	SHLQ $3, AX
	LEAQ (R8)(AX*1), R9
	LEAQ (R9)(AX*1), R10
	LEAQ (R10)(AX*1), R11
	MOVQ out+40(FP), DI
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	VXORPD Y8, Y8, Y8

d4loop8:
	CMPQ CX, $8
	JL   d4loop4
	VMOVUPD     (SI), Y4
	VMOVUPD     32(SI), Y9
	VFMADD231PD (R8), Y4, Y0
	VFMADD231PD (R9), Y4, Y1
	VFMADD231PD (R10), Y4, Y2
	VFMADD231PD (R11), Y4, Y3
	VFMADD231PD 32(R8), Y9, Y5
	VFMADD231PD 32(R9), Y9, Y6
	VFMADD231PD 32(R10), Y9, Y7
	VFMADD231PD 32(R11), Y9, Y8
	ADDQ        $64, SI
	ADDQ        $64, R8
	ADDQ        $64, R9
	ADDQ        $64, R10
	ADDQ        $64, R11
	SUBQ        $8, CX
	JMP         d4loop8

d4loop4:
	CMPQ CX, $4
	JL   d4reduce
	VMOVUPD     (SI), Y4
	VFMADD231PD (R8), Y4, Y0
	VFMADD231PD (R9), Y4, Y1
	VFMADD231PD (R10), Y4, Y2
	VFMADD231PD (R11), Y4, Y3
	ADDQ        $32, SI
	ADDQ        $32, R8
	ADDQ        $32, R9
	ADDQ        $32, R10
	ADDQ        $32, R11
	SUBQ        $4, CX
	JMP         d4loop4

d4reduce:
	VADDPD       Y5, Y0, Y0
	VADDPD       Y6, Y1, Y1
	VADDPD       Y7, Y2, Y2
	VADDPD       Y8, Y3, Y3
	VEXTRACTF128 $1, Y0, X4
	VADDPD       X4, X0, X0
	VHADDPD      X0, X0, X0
	VEXTRACTF128 $1, Y1, X4
	VADDPD       X4, X1, X1
	VHADDPD      X1, X1, X1
	VEXTRACTF128 $1, Y2, X4
	VADDPD       X4, X2, X2
	VHADDPD      X2, X2, X2
	VEXTRACTF128 $1, Y3, X4
	VADDPD       X4, X3, X3
	VHADDPD      X3, X3, X3

d4loop1:
	CMPQ CX, $0
	JE   d4done
	VMOVSD      (SI), X4
	VFMADD231SD (R8), X4, X0
	VFMADD231SD (R9), X4, X1
	VFMADD231SD (R10), X4, X2
	VFMADD231SD (R11), X4, X3
	ADDQ        $8, SI
	ADDQ        $8, R8
	ADDQ        $8, R9
	ADDQ        $8, R10
	ADDQ        $8, R11
	DECQ        CX
	JMP         d4loop1

d4done:
	VMOVSD X0, (DI)
	VMOVSD X1, 8(DI)
	VMOVSD X2, 16(DI)
	VMOVSD X3, 24(DI)
	VZEROUPPER
	RET

// func axpy4AVX2(r *[4]float64, x *float64, stride int, y []float64)
// y[i] += Σ_j r[j]·x[j*stride+i] for i < len(y).
TEXT ·axpy4AVX2(SB), NOSPLIT, $0-48
	MOVQ         r+0(FP), DX
	VBROADCASTSD (DX), Y0
	VBROADCASTSD 8(DX), Y1
	VBROADCASTSD 16(DX), Y2
	VBROADCASTSD 24(DX), Y3
	MOVQ         x+8(FP), R8
	MOVQ         stride+16(FP), AX
	SHLQ         $3, AX
	LEAQ         (R8)(AX*1), R9
	LEAQ         (R9)(AX*1), R10
	LEAQ         (R10)(AX*1), R11
	MOVQ         y_base+24(FP), DI
	MOVQ         y_len+32(FP), CX

a4loop4:
	CMPQ CX, $4
	JL   a4loop1
	VMOVUPD     (DI), Y4
	VMULPD      (R8), Y0, Y5
	VFMADD231PD (R9), Y1, Y5
	VFMADD231PD (R10), Y2, Y4
	VFMADD231PD (R11), Y3, Y5
	VADDPD      Y5, Y4, Y4
	VMOVUPD     Y4, (DI)
	ADDQ        $32, DI
	ADDQ        $32, R8
	ADDQ        $32, R9
	ADDQ        $32, R10
	ADDQ        $32, R11
	SUBQ        $4, CX
	JMP         a4loop4

a4loop1:
	CMPQ CX, $0
	JE   a4done
	VMOVSD      (DI), X4
	VMULSD      (R8), X0, X5
	VFMADD231SD (R9), X1, X5
	VFMADD231SD (R10), X2, X4
	VFMADD231SD (R11), X3, X5
	VADDSD      X5, X4, X4
	VMOVSD      X4, (DI)
	ADDQ        $8, DI
	ADDQ        $8, R8
	ADDQ        $8, R9
	ADDQ        $8, R10
	ADDQ        $8, R11
	DECQ        CX
	JMP         a4loop1

a4done:
	VZEROUPPER
	RET

// func quadAVX2(x []float64, out *float64)
// Writes x[a]·x[b] for a = 0..len(x)−1, b = 0..a, row after row. Each row
// is written in whole 4-wide stores: up to 3 values past a row's end are
// written too (and overwritten by the next row), and x is read up to the
// next multiple of 4. The caller pads both (see quad).
TEXT ·quadAVX2(SB), NOSPLIT, $0-32
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), DX
	MOVQ out+24(FP), DI
	XORQ AX, AX

qrow:
	CMPQ         AX, DX
	JGE          qdone
	VBROADCASTSD (SI)(AX*8), Y0
	LEAQ         4(AX), CX
	SHRQ         $2, CX
	MOVQ         SI, R8
	MOVQ         DI, R9

q4:
	VMULPD  (R8), Y0, Y1
	VMOVUPD Y1, (R9)
	ADDQ    $32, R8
	ADDQ    $32, R9
	DECQ    CX
	JNZ     q4

	LEAQ 8(DI)(AX*8), DI
	INCQ AX
	JMP  qrow

qdone:
	VZEROUPPER
	RET

// func dot4AVX512(x []float64, y *float64, stride int, out *[4]float64)
// As dot4AVX2, eight lanes at a time.
TEXT ·dot4AVX512(SB), NOSPLIT, $0-48
	MOVQ   x_base+0(FP), SI
	MOVQ   x_len+8(FP), CX
	MOVQ   y+24(FP), R8
	MOVQ   stride+32(FP), AX
	SHLQ   $3, AX
	LEAQ   (R8)(AX*1), R9
	LEAQ   (R9)(AX*1), R10
	LEAQ   (R10)(AX*1), R11
	MOVQ   out+40(FP), DI
	VXORPD Z0, Z0, Z0
	VXORPD Z1, Z1, Z1
	VXORPD Z2, Z2, Z2
	VXORPD Z3, Z3, Z3
	VXORPD Z5, Z5, Z5
	VXORPD Z6, Z6, Z6
	VXORPD Z7, Z7, Z7
	VXORPD Z8, Z8, Z8

e4loop16:
	CMPQ CX, $16
	JL   e4loop8
	VMOVUPD     (SI), Z4
	VMOVUPD     64(SI), Z9
	VFMADD231PD (R8), Z4, Z0
	VFMADD231PD (R9), Z4, Z1
	VFMADD231PD (R10), Z4, Z2
	VFMADD231PD (R11), Z4, Z3
	VFMADD231PD 64(R8), Z9, Z5
	VFMADD231PD 64(R9), Z9, Z6
	VFMADD231PD 64(R10), Z9, Z7
	VFMADD231PD 64(R11), Z9, Z8
	ADDQ        $128, SI
	ADDQ        $128, R8
	ADDQ        $128, R9
	ADDQ        $128, R10
	ADDQ        $128, R11
	SUBQ        $16, CX
	JMP         e4loop16

e4loop8:
	CMPQ CX, $8
	JL   e4fold
	VMOVUPD     (SI), Z4
	VFMADD231PD (R8), Z4, Z0
	VFMADD231PD (R9), Z4, Z1
	VFMADD231PD (R10), Z4, Z2
	VFMADD231PD (R11), Z4, Z3
	ADDQ        $64, SI
	ADDQ        $64, R8
	ADDQ        $64, R9
	ADDQ        $64, R10
	ADDQ        $64, R11
	SUBQ        $8, CX
	JMP         e4loop8

e4fold:
	VADDPD        Z5, Z0, Z0
	VADDPD        Z6, Z1, Z1
	VADDPD        Z7, Z2, Z2
	VADDPD        Z8, Z3, Z3
	VEXTRACTF64X4 $1, Z0, Y4
	VADDPD        Y4, Y0, Y0
	VEXTRACTF64X4 $1, Z1, Y4
	VADDPD        Y4, Y1, Y1
	VEXTRACTF64X4 $1, Z2, Y4
	VADDPD        Y4, Y2, Y2
	VEXTRACTF64X4 $1, Z3, Y4
	VADDPD        Y4, Y3, Y3

e4loop4:
	CMPQ CX, $4
	JL   e4reduce
	VMOVUPD     (SI), Y4
	VFMADD231PD (R8), Y4, Y0
	VFMADD231PD (R9), Y4, Y1
	VFMADD231PD (R10), Y4, Y2
	VFMADD231PD (R11), Y4, Y3
	ADDQ        $32, SI
	ADDQ        $32, R8
	ADDQ        $32, R9
	ADDQ        $32, R10
	ADDQ        $32, R11
	SUBQ        $4, CX
	JMP         e4loop4

e4reduce:
	VEXTRACTF128 $1, Y0, X4
	VADDPD       X4, X0, X0
	VHADDPD      X0, X0, X0
	VEXTRACTF128 $1, Y1, X4
	VADDPD       X4, X1, X1
	VHADDPD      X1, X1, X1
	VEXTRACTF128 $1, Y2, X4
	VADDPD       X4, X2, X2
	VHADDPD      X2, X2, X2
	VEXTRACTF128 $1, Y3, X4
	VADDPD       X4, X3, X3
	VHADDPD      X3, X3, X3

e4loop1:
	CMPQ CX, $0
	JE   e4done
	VMOVSD      (SI), X4
	VFMADD231SD (R8), X4, X0
	VFMADD231SD (R9), X4, X1
	VFMADD231SD (R10), X4, X2
	VFMADD231SD (R11), X4, X3
	ADDQ        $8, SI
	ADDQ        $8, R8
	ADDQ        $8, R9
	ADDQ        $8, R10
	ADDQ        $8, R11
	DECQ        CX
	JMP         e4loop1

e4done:
	VMOVSD X0, (DI)
	VMOVSD X1, 8(DI)
	VMOVSD X2, 16(DI)
	VMOVSD X3, 24(DI)
	VZEROUPPER
	RET

// func axpy4AVX512(r *[4]float64, x *float64, stride int, y []float64)
// As axpy4AVX2, eight lanes at a time.
TEXT ·axpy4AVX512(SB), NOSPLIT, $0-48
	MOVQ         r+0(FP), DX
	VBROADCASTSD (DX), Z0
	VBROADCASTSD 8(DX), Z1
	VBROADCASTSD 16(DX), Z2
	VBROADCASTSD 24(DX), Z3
	MOVQ         x+8(FP), R8
	MOVQ         stride+16(FP), AX
	SHLQ         $3, AX
	LEAQ         (R8)(AX*1), R9
	LEAQ         (R9)(AX*1), R10
	LEAQ         (R10)(AX*1), R11
	MOVQ         y_base+24(FP), DI
	MOVQ         y_len+32(FP), CX

b4loop8:
	CMPQ CX, $8
	JL   b4loop4
	VMOVUPD     (DI), Z4
	VMULPD      (R8), Z0, Z5
	VFMADD231PD (R9), Z1, Z5
	VFMADD231PD (R10), Z2, Z4
	VFMADD231PD (R11), Z3, Z5
	VADDPD      Z5, Z4, Z4
	VMOVUPD     Z4, (DI)
	ADDQ        $64, DI
	ADDQ        $64, R8
	ADDQ        $64, R9
	ADDQ        $64, R10
	ADDQ        $64, R11
	SUBQ        $8, CX
	JMP         b4loop8

b4loop4:
	CMPQ CX, $4
	JL   b4loop1
	VMOVUPD     (DI), Y4
	VMULPD      (R8), Y0, Y5
	VFMADD231PD (R9), Y1, Y5
	VFMADD231PD (R10), Y2, Y4
	VFMADD231PD (R11), Y3, Y5
	VADDPD      Y5, Y4, Y4
	VMOVUPD     Y4, (DI)
	ADDQ        $32, DI
	ADDQ        $32, R8
	ADDQ        $32, R9
	ADDQ        $32, R10
	ADDQ        $32, R11
	SUBQ        $4, CX
	JMP         b4loop4

b4loop1:
	CMPQ CX, $0
	JE   b4done
	VMOVSD      (DI), X4
	VMULSD      (R8), X0, X5
	VFMADD231SD (R9), X1, X5
	VFMADD231SD (R10), X2, X4
	VFMADD231SD (R11), X3, X5
	VADDSD      X5, X4, X4
	VMOVSD      X4, (DI)
	ADDQ        $8, DI
	ADDQ        $8, R8
	ADDQ        $8, R9
	ADDQ        $8, R10
	ADDQ        $8, R11
	DECQ        CX
	JMP         b4loop1

b4done:
	VZEROUPPER
	RET

// func dot4x2AVX512(f *float64, fstride int, v *float64, vstride int, n int, out *[8]float64)
// out[2t+c] = Σ_i f[t·fstride+i]·v[c·vstride+i] for t = 0..3, c = 0..1;
// n must be a positive multiple of 8. Each 8-lane chunk loads the two v rows
// and the four f rows once and does eight FMAs.
TEXT ·dot4x2AVX512(SB), NOSPLIT, $0-48
	MOVQ   f+0(FP), R8
	MOVQ   fstride+8(FP), AX
	SHLQ   $3, AX
	LEAQ   (R8)(AX*1), R9
	LEAQ   (R9)(AX*1), R10
	LEAQ   (R10)(AX*1), R11
	MOVQ   v+16(FP), SI
	MOVQ   vstride+24(FP), BX
	SHLQ   $3, BX
	LEAQ   (SI)(BX*1), R12
	MOVQ   n+32(FP), CX
	MOVQ   out+40(FP), DI
	XORQ   DX, DX
	VXORPD Z0, Z0, Z0
	VXORPD Z1, Z1, Z1
	VXORPD Z2, Z2, Z2
	VXORPD Z3, Z3, Z3
	VXORPD Z4, Z4, Z4
	VXORPD Z5, Z5, Z5
	VXORPD Z6, Z6, Z6
	VXORPD Z7, Z7, Z7

x42loop:
	VMOVUPD     (SI)(DX*8), Z8
	VMOVUPD     (R12)(DX*8), Z9
	VMOVUPD     (R8)(DX*8), Z10
	VFMADD231PD Z8, Z10, Z0
	VFMADD231PD Z9, Z10, Z1
	VMOVUPD     (R9)(DX*8), Z11
	VFMADD231PD Z8, Z11, Z2
	VFMADD231PD Z9, Z11, Z3
	VMOVUPD     (R10)(DX*8), Z12
	VFMADD231PD Z8, Z12, Z4
	VFMADD231PD Z9, Z12, Z5
	VMOVUPD     (R11)(DX*8), Z13
	VFMADD231PD Z8, Z13, Z6
	VFMADD231PD Z9, Z13, Z7
	ADDQ        $8, DX
	CMPQ        DX, CX
	JLT         x42loop

	// Horizontal sums of the eight accumulators.
	VEXTRACTF64X4 $1, Z0, Y8
	VADDPD        Y8, Y0, Y0
	VEXTRACTF64X4 $1, Z1, Y8
	VADDPD        Y8, Y1, Y1
	VEXTRACTF64X4 $1, Z2, Y8
	VADDPD        Y8, Y2, Y2
	VEXTRACTF64X4 $1, Z3, Y8
	VADDPD        Y8, Y3, Y3
	VEXTRACTF64X4 $1, Z4, Y8
	VADDPD        Y8, Y4, Y4
	VEXTRACTF64X4 $1, Z5, Y8
	VADDPD        Y8, Y5, Y5
	VEXTRACTF64X4 $1, Z6, Y8
	VADDPD        Y8, Y6, Y6
	VEXTRACTF64X4 $1, Z7, Y8
	VADDPD        Y8, Y7, Y7
	VHADDPD       Y1, Y0, Y0 // [a0+a1, b0+b1, a2+a3, b2+b3]
	VHADDPD       Y3, Y2, Y2
	VHADDPD       Y5, Y4, Y4
	VHADDPD       Y7, Y6, Y6
	VEXTRACTF128  $1, Y0, X8
	VADDPD        X8, X0, X0 // [sum a, sum b]
	VEXTRACTF128  $1, Y2, X8
	VADDPD        X8, X2, X2
	VEXTRACTF128  $1, Y4, X8
	VADDPD        X8, X4, X4
	VEXTRACTF128  $1, Y6, X8
	VADDPD        X8, X6, X6
	VMOVUPD       X0, (DI)
	VMOVUPD       X2, 16(DI)
	VMOVUPD       X4, 32(DI)
	VMOVUPD       X6, 48(DI)
	VZEROUPPER
	RET

// func axpy4x2AVX512(r *[8]float64, f *float64, fstride int, s *float64, sstride int, n int)
// s[c·sstride+i] += Σ_t r[2t+c]·f[t·fstride+i] for c = 0..1, i < n; n must
// be a positive multiple of 8.
TEXT ·axpy4x2AVX512(SB), NOSPLIT, $0-48
	MOVQ         r+0(FP), DX
	VBROADCASTSD (DX), Z2
	VBROADCASTSD 8(DX), Z3
	VBROADCASTSD 16(DX), Z4
	VBROADCASTSD 24(DX), Z5
	VBROADCASTSD 32(DX), Z6
	VBROADCASTSD 40(DX), Z7
	VBROADCASTSD 48(DX), Z8
	VBROADCASTSD 56(DX), Z9
	MOVQ         f+8(FP), R8
	MOVQ         fstride+16(FP), AX
	SHLQ         $3, AX
	LEAQ         (R8)(AX*1), R9
	LEAQ         (R9)(AX*1), R10
	LEAQ         (R10)(AX*1), R11
	MOVQ         s+24(FP), SI
	MOVQ         sstride+32(FP), BX
	SHLQ         $3, BX
	LEAQ         (SI)(BX*1), R12
	MOVQ         n+40(FP), CX
	XORQ         DX, DX

a42loop:
	VMOVUPD     (R8)(DX*8), Z10
	VMOVUPD     (R9)(DX*8), Z11
	VMOVUPD     (R10)(DX*8), Z12
	VMOVUPD     (R11)(DX*8), Z13
	VMOVUPD     (SI)(DX*8), Z0
	VMOVUPD     (R12)(DX*8), Z1
	VMULPD      Z11, Z4, Z14
	VMULPD      Z11, Z5, Z15
	VFMADD231PD Z10, Z2, Z0
	VFMADD231PD Z10, Z3, Z1
	VFMADD231PD Z13, Z8, Z14
	VFMADD231PD Z13, Z9, Z15
	VFMADD231PD Z12, Z6, Z0
	VFMADD231PD Z12, Z7, Z1
	VADDPD      Z14, Z0, Z0
	VADDPD      Z15, Z1, Z1
	VMOVUPD     Z0, (SI)(DX*8)
	VMOVUPD     Z1, (R12)(DX*8)
	ADDQ        $8, DX
	CMPQ        DX, CX
	JLT         a42loop
	VZEROUPPER
	RET

// func gemvT32AVX512(x []float64, mt *float64, chunks int, out *[32]float64)
// out[c] = Σ_a x[a]·mt[a·32+c] for c < 8·chunks (chunks from 1 to 4): the
// dot products of x with up to 32 vectors stored as the columns of mt
// (len(x) rows of 32 values). Entries of out past 8·chunks are zeroed.
TEXT ·gemvT32AVX512(SB), NOSPLIT, $0-48
	MOVQ   x_base+0(FP), SI
	MOVQ   x_len+8(FP), CX
	MOVQ   mt+24(FP), R8
	MOVQ   chunks+32(FP), R9
	MOVQ   out+40(FP), DI
	VXORPD Z0, Z0, Z0
	VXORPD Z1, Z1, Z1
	VXORPD Z2, Z2, Z2
	VXORPD Z3, Z3, Z3
	TESTQ  CX, CX
	JEQ    gtdone32

gtloop32:
	VBROADCASTSD (SI), Z8
	VFMADD231PD  (R8), Z8, Z0
	CMPQ         R9, $1
	JEQ          gtnext32
	VFMADD231PD  64(R8), Z8, Z1
	CMPQ         R9, $2
	JEQ          gtnext32
	VFMADD231PD  128(R8), Z8, Z2
	CMPQ         R9, $3
	JEQ          gtnext32
	VFMADD231PD  192(R8), Z8, Z3

gtnext32:
	ADDQ $8, SI
	ADDQ $256, R8
	DECQ CX
	JNZ  gtloop32

gtdone32:
	VMOVUPD Z0, (DI)
	VMOVUPD Z1, 64(DI)
	VMOVUPD Z2, 128(DI)
	VMOVUPD Z3, 192(DI)
	VZEROUPPER
	RET

// func quadCircAVX512(xx *float64, d int, out *float64)
// The circulant products of quadCirc: for s = 0..d/2, out[s·d+i] =
// xx[i]·xx[i+s] for i < d, where xx holds x twice (2d values) and d is a
// positive multiple of 8. Every store is a whole 8-wide one at out + 64·j.
TEXT ·quadCircAVX512(SB), NOSPLIT, $0-24
	MOVQ xx+0(FP), SI
	MOVQ d+8(FP), DX
	MOVQ out+16(FP), DI
	MOVQ DX, BX
	SHRQ $1, BX
	INCQ BX           // rows s = 0..d/2
	MOVQ SI, R10      // xx + s

qcrow:
	XORQ CX, CX

qcchunk:
	VMOVUPD (SI)(CX*8), Z0
	VMULPD  (R10)(CX*8), Z0, Z1
	VMOVUPD Z1, (DI)(CX*8)
	ADDQ    $8, CX
	CMPQ    CX, DX
	JLT     qcchunk

	LEAQ (DI)(DX*8), DI
	ADDQ $8, R10
	DECQ BX
	JNZ  qcrow
	VZEROUPPER
	RET
