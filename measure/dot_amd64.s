//go:build !purego

#include "textflag.h"

// func dot4AVX2(a0, a1, a2, a3, b *float64, n int, out *[4]float64)
// out[r] = Σ_k a_r[k]·b[k] for k < n; requires AVX2 and FMA.
TEXT ·dot4AVX2(SB), NOSPLIT, $0-56
	MOVQ a0+0(FP), R8
	MOVQ a1+8(FP), R9
	MOVQ a2+16(FP), R10
	MOVQ a3+24(FP), R11
	MOVQ b+32(FP), SI
	MOVQ n+40(FP), CX
	MOVQ out+48(FP), DI
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	XORQ AX, AX
	MOVQ CX, DX
	ANDQ $-4, DX

loop4x:
	CMPQ AX, DX
	JGE  reduce4
	VMOVUPD (SI)(AX*8), Y4
	VFMADD231PD (R8)(AX*8), Y4, Y0
	VFMADD231PD (R9)(AX*8), Y4, Y1
	VFMADD231PD (R10)(AX*8), Y4, Y2
	VFMADD231PD (R11)(AX*8), Y4, Y3
	ADDQ $4, AX
	JMP  loop4x

reduce4:
	VEXTRACTF128 $1, Y0, X4
	VADDPD       X4, X0, X0
	VHADDPD      X0, X0, X0
	VEXTRACTF128 $1, Y1, X5
	VADDPD       X5, X1, X1
	VHADDPD      X1, X1, X1
	VEXTRACTF128 $1, Y2, X6
	VADDPD       X6, X2, X2
	VHADDPD      X2, X2, X2
	VEXTRACTF128 $1, Y3, X7
	VADDPD       X7, X3, X3
	VHADDPD      X3, X3, X3

tail4x:
	CMPQ AX, CX
	JGE  store4
	VMOVSD      (SI)(AX*8), X4
	VFMADD231SD (R8)(AX*8), X4, X0
	VFMADD231SD (R9)(AX*8), X4, X1
	VFMADD231SD (R10)(AX*8), X4, X2
	VFMADD231SD (R11)(AX*8), X4, X3
	INCQ AX
	JMP  tail4x

store4:
	VMOVSD X0, (DI)
	VMOVSD X1, 8(DI)
	VMOVSD X2, 16(DI)
	VMOVSD X3, 24(DI)
	VZEROUPPER
	RET

// func syrk4x8AVX512(p, q *float64, stride, m int, acc *float64, accStride int)
// acc[k][0:8] += Σ_i p[i][k]·q[i][0:8] for k < 4 and i < m, rows of p and q
// stride bytes apart, rows of acc accStride bytes apart: a 4×8 tile of
// UᵀU from row-major U, even and odd rows summed in separate registers
// (eight independent chains) and added at the end.
TEXT ·syrk4x8AVX512(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ stride+16(FP), BX
	MOVQ m+24(FP), CX
	MOVQ acc+32(FP), R8
	MOVQ accStride+40(FP), R9
	VXORPD Z0, Z0, Z0
	VXORPD Z1, Z1, Z1
	VXORPD Z2, Z2, Z2
	VXORPD Z3, Z3, Z3
	VXORPD Z4, Z4, Z4
	VXORPD Z5, Z5, Z5
	VXORPD Z6, Z6, Z6
	VXORPD Z7, Z7, Z7
	LEAQ (BX)(BX*1), DX // two rows

syrk8zpair:
	CMPQ CX, $2
	JLT  syrk8zone
	VMOVUPD      (DI), Z8
	VMOVUPD      (DI)(BX*1), Z9
	VBROADCASTSD (SI), Z10
	VFMADD231PD  Z10, Z8, Z0
	VBROADCASTSD (SI)(BX*1), Z14
	VFMADD231PD  Z14, Z9, Z4
	VBROADCASTSD 8(SI), Z11
	VFMADD231PD  Z11, Z8, Z1
	VBROADCASTSD 8(SI)(BX*1), Z15
	VFMADD231PD  Z15, Z9, Z5
	VBROADCASTSD 16(SI), Z12
	VFMADD231PD  Z12, Z8, Z2
	VBROADCASTSD 16(SI)(BX*1), Z16
	VFMADD231PD  Z16, Z9, Z6
	VBROADCASTSD 24(SI), Z13
	VFMADD231PD  Z13, Z8, Z3
	VBROADCASTSD 24(SI)(BX*1), Z17
	VFMADD231PD  Z17, Z9, Z7
	ADDQ         DX, SI
	ADDQ         DX, DI
	SUBQ         $2, CX
	JMP          syrk8zpair

syrk8zone:
	TESTQ CX, CX
	JEQ   syrk8zdone
	VMOVUPD      (DI), Z8
	VBROADCASTSD (SI), Z10
	VFMADD231PD  Z10, Z8, Z0
	VBROADCASTSD 8(SI), Z11
	VFMADD231PD  Z11, Z8, Z1
	VBROADCASTSD 16(SI), Z12
	VFMADD231PD  Z12, Z8, Z2
	VBROADCASTSD 24(SI), Z13
	VFMADD231PD  Z13, Z8, Z3

syrk8zdone:
	VADDPD  Z4, Z0, Z0
	VADDPD  (R8), Z0, Z0
	VMOVUPD Z0, (R8)
	ADDQ    R9, R8
	VADDPD  Z5, Z1, Z1
	VADDPD  (R8), Z1, Z1
	VMOVUPD Z1, (R8)
	ADDQ    R9, R8
	VADDPD  Z6, Z2, Z2
	VADDPD  (R8), Z2, Z2
	VMOVUPD Z2, (R8)
	ADDQ    R9, R8
	VADDPD  Z7, Z3, Z3
	VADDPD  (R8), Z3, Z3
	VMOVUPD Z3, (R8)
	VZEROUPPER
	RET

// func syrk4x8AVX2(p, q *float64, stride, m int, acc *float64, accStride int)
// acc[k][0:8] += Σ_i p[i][k]·q[i][0:8] for k < 4 and i < m, rows of p and
// q stride bytes apart, rows of acc accStride bytes apart: a 4×8 tile of
// UᵀU from row-major U with the tile's sums in registers.
TEXT ·syrk4x8AVX2(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ stride+16(FP), BX
	MOVQ m+24(FP), CX
	MOVQ acc+32(FP), R8
	MOVQ accStride+40(FP), R9
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7

syrk4x8avx2loop:
	TESTQ CX, CX
	JEQ   syrk4x8avx2done
	VMOVUPD      (DI), Y8
	VMOVUPD      32(DI), Y9
	VBROADCASTSD (SI), Y10
	VFMADD231PD  Y10, Y8, Y0
	VFMADD231PD  Y10, Y9, Y1
	VBROADCASTSD 8(SI), Y11
	VFMADD231PD  Y11, Y8, Y2
	VFMADD231PD  Y11, Y9, Y3
	VBROADCASTSD 16(SI), Y12
	VFMADD231PD  Y12, Y8, Y4
	VFMADD231PD  Y12, Y9, Y5
	VBROADCASTSD 24(SI), Y13
	VFMADD231PD  Y13, Y8, Y6
	VFMADD231PD  Y13, Y9, Y7
	ADDQ         BX, SI
	ADDQ         BX, DI
	DECQ         CX
	JMP          syrk4x8avx2loop

syrk4x8avx2done:
	VADDPD  (R8), Y0, Y0
	VMOVUPD Y0, (R8)
	VADDPD  32(R8), Y1, Y1
	VMOVUPD Y1, 32(R8)
	ADDQ    R9, R8
	VADDPD  (R8), Y2, Y2
	VMOVUPD Y2, (R8)
	VADDPD  32(R8), Y3, Y3
	VMOVUPD Y3, 32(R8)
	ADDQ    R9, R8
	VADDPD  (R8), Y4, Y4
	VMOVUPD Y4, (R8)
	VADDPD  32(R8), Y5, Y5
	VMOVUPD Y5, 32(R8)
	ADDQ    R9, R8
	VADDPD  (R8), Y6, Y6
	VMOVUPD Y6, (R8)
	VADDPD  32(R8), Y7, Y7
	VMOVUPD Y7, 32(R8)
	VZEROUPPER
	RET
