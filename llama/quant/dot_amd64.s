//go:build amd64 && !purego

#include "textflag.h"

// HSUM8 reduces the eight float32 lanes of Y0 to X0's low lane (uses X1).
#define HSUM8 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VMOVHLPS X0, X1, X1 \
	VADDPS X1, X0, X0 \
	VMOVSHDUP X0, X1 \
	VADDSS X1, X0, X0

// func dotF32avx(w *byte, x *float32, n int) float32
// Σ_{i<n} w[i]·x[i] for n a multiple of 8, four 8-lane accumulators.
TEXT ·dotF32avx(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
f32loop32:
	CMPQ CX, $32
	JLT f32loop8
	VMOVUPS (SI), Y5
	VMOVUPS 32(SI), Y6
	VMOVUPS 64(SI), Y7
	VMOVUPS 96(SI), Y8
	VFMADD231PS (DI), Y5, Y0
	VFMADD231PS 32(DI), Y6, Y2
	VFMADD231PS 64(DI), Y7, Y3
	VFMADD231PS 96(DI), Y8, Y4
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP f32loop32
f32loop8:
	CMPQ CX, $8
	JLT f32done
	VMOVUPS (SI), Y5
	VFMADD231PS (DI), Y5, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP f32loop8
f32done:
	VADDPS Y2, Y0, Y0
	VADDPS Y4, Y3, Y3
	VADDPS Y3, Y0, Y0
	HSUM8
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotF16avx(w *byte, x *float32, n int) float32
// Σ_{i<n} f16(w[i])·x[i] for n a multiple of 8.
TEXT ·dotF16avx(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
f16loop32:
	CMPQ CX, $32
	JLT f16loop8
	VCVTPH2PS (SI), Y5
	VCVTPH2PS 16(SI), Y6
	VCVTPH2PS 32(SI), Y7
	VCVTPH2PS 48(SI), Y8
	VFMADD231PS (DI), Y5, Y0
	VFMADD231PS 32(DI), Y6, Y2
	VFMADD231PS 64(DI), Y7, Y3
	VFMADD231PS 96(DI), Y8, Y4
	ADDQ $64, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP f16loop32
f16loop8:
	CMPQ CX, $8
	JLT f16done
	VCVTPH2PS (SI), Y5
	VFMADD231PS (DI), Y5, Y0
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP f16loop8
f16done:
	VADDPS Y2, Y0, Y0
	VADDPS Y4, Y3, Y3
	VADDPS Y3, Y0, Y0
	HSUM8
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// BLOCKSCALE sets Y6 to the broadcast product f16(at off(SI)) · (R).
#define BLOCKSCALE(off, R) \
	MOVWLZX off(SI), AX \
	VMOVD AX, X6 \
	VCVTPH2PS X6, X6 \
	VMULSS (R), X6, X6 \
	VBROADCASTSS X6, Y6

// SIGNDOT: Y1 = signed int8 weights, (DI) = signed int8 activations;
// adds the eight int32 partial sums of Σ w·a, converted to float and
// scaled by Y6, to Y0. Y15 holds int16 ones. Uses Y2-Y5.
#define SIGNDOT \
	VMOVDQU (DI), Y2 \
	VPSIGNB Y1, Y1, Y3 \
	VPSIGNB Y1, Y2, Y4 \
	VPMADDUBSW Y4, Y3, Y5 \
	VPMADDWD Y15, Y5, Y5 \
	VCVTDQ2PS Y5, Y5 \
	VFMADD231PS Y5, Y6, Y0

// ONES16 sets Y15 to int16 ones.
#define ONES16 \
	MOVL $0x00010001, AX \
	VMOVD AX, X15 \
	VPBROADCASTD X15, Y15

// func dotQ8_0avx(w *byte, q *int8, d *float32, nb int) float32
TEXT ·dotQ8_0avx(SB), NOSPLIT, $0-36
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ nb+24(FP), CX
	ONES16
	VXORPS Y0, Y0, Y0
q8loop:
	TESTQ CX, CX
	JZ q8done
	BLOCKSCALE(0, DX)
	VMOVDQU 2(SI), Y1
	SIGNDOT
	ADDQ $34, SI
	ADDQ $32, DI
	ADDQ $4, DX
	DECQ CX
	JMP q8loop
q8done:
	HSUM8
	VMOVSS X0, ret+32(FP)
	VZEROUPPER
	RET

// func dotQ4_0avx(w *byte, q *int8, d *float32, nb int) float32
TEXT ·dotQ4_0avx(SB), NOSPLIT, $0-36
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ nb+24(FP), CX
	ONES16
	MOVL $0x0F0F0F0F, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x08080808, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
	VXORPS Y0, Y0, Y0
q4loop:
	TESTQ CX, CX
	JZ q4done
	BLOCKSCALE(0, DX)
	VMOVDQU 2(SI), X1
	VPSRLW $4, X1, X2
	VINSERTI128 $1, X2, Y1, Y1
	VPAND Y14, Y1, Y1
	VPSUBB Y13, Y1, Y1
	SIGNDOT
	ADDQ $18, SI
	ADDQ $32, DI
	ADDQ $4, DX
	DECQ CX
	JMP q4loop
q4done:
	HSUM8
	VMOVSS X0, ret+32(FP)
	VZEROUPPER
	RET

// UDOT(A, R, OFF): R = eight int32 partial sums of unsigned bytes A times
// the signed activations at OFF(DI). Y15 holds int16 ones.
#define UDOT(A, R, OFF) \
	VPMADDUBSW OFF(DI), A, R \
	VPMADDWD Y15, R, R

// func sumsQ4Kavx(w *byte, q *int8, sums *int32, nb int)
// For each q4_K super-block k (144 bytes at w) sets sums[8k+j] to the
// sum over sub-block j of nibble·activation.
TEXT ·sumsQ4Kavx(SB), NOSPLIT, $0-32
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ sums+16(FP), DX
	MOVQ nb+24(FP), CX
	ONES16
	MOVL $0x0F0F0F0F, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
q4kloop:
	TESTQ CX, CX
	JZ q4kdone
	// chunk 0
	VMOVDQU 16(SI), Y1
	VPAND Y14, Y1, Y2
	VPSRLW $4, Y1, Y3
	VPAND Y14, Y3, Y3
	UDOT(Y2, Y4, 0)
	UDOT(Y3, Y5, 32)
	VPHADDD Y5, Y4, Y8
	// chunk 1
	VMOVDQU 48(SI), Y1
	VPAND Y14, Y1, Y2
	VPSRLW $4, Y1, Y3
	VPAND Y14, Y3, Y3
	UDOT(Y2, Y4, 64)
	UDOT(Y3, Y5, 96)
	VPHADDD Y5, Y4, Y9
	// chunk 2
	VMOVDQU 80(SI), Y1
	VPAND Y14, Y1, Y2
	VPSRLW $4, Y1, Y3
	VPAND Y14, Y3, Y3
	UDOT(Y2, Y4, 128)
	UDOT(Y3, Y5, 160)
	VPHADDD Y5, Y4, Y10
	// chunk 3
	VMOVDQU 112(SI), Y1
	VPAND Y14, Y1, Y2
	VPSRLW $4, Y1, Y3
	VPAND Y14, Y3, Y3
	UDOT(Y2, Y4, 192)
	UDOT(Y3, Y5, 224)
	VPHADDD Y5, Y4, Y11
	VPHADDD Y9, Y8, Y8
	VPHADDD Y11, Y10, Y10
	VEXTRACTI128 $1, Y8, X9
	VPADDD X9, X8, X8
	VEXTRACTI128 $1, Y10, X11
	VPADDD X11, X10, X10
	VMOVDQU X8, (DX)
	VMOVDQU X10, 16(DX)
	ADDQ $144, SI
	ADDQ $256, DI
	ADDQ $32, DX
	DECQ CX
	JMP q4kloop
q4kdone:
	VZEROUPPER
	RET

// SIX(L, SH, R): R = (L & 0x0F) | (((H >> SH) & 3) << 4) bytewise for H = Y1,
// with Y14 = 0x0F bytes and Y13 = 0x03 bytes; uses Y12.
#define SIX(L, SH, R) \
	VPSRLW $SH, Y1, Y12 \
	VPAND Y13, Y12, Y12 \
	VPSLLW $4, Y12, Y12 \
	VPAND Y14, L, R \
	VPOR Y12, R, R

// func sumsQ6Kavx(w *byte, q *int8, sums *int32, nb int)
// For each q6_K super-block k (210 bytes at w) sets sums[16k+8h+i] for
// half h to the sums over its sub-blocks of (stored 6-bit value)·activation,
// in the order 0,2,4,6,1,3,5,7 of the half's sub-blocks.
TEXT ·sumsQ6Kavx(SB), NOSPLIT, $0-32
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ sums+16(FP), DX
	MOVQ nb+24(FP), CX
	ONES16
	MOVL $0x0F0F0F0F, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x03030303, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
q6kloop:
	TESTQ CX, CX
	JZ q6kdone
	MOVQ SI, R8       // ql of the current half
	LEAQ 128(SI), R9  // qh of the current half
	MOVQ $2, BX
q6khalf:
	VMOVDQU (R8), Y10  // L0 = ql[0:32]
	VMOVDQU 32(R8), Y11 // L1 = ql[32:64]
	VMOVDQU (R9), Y1   // H = qh[0:32]
	SIX(Y10, 0, Y2)
	SIX(Y11, 2, Y3)
	VPSRLW $4, Y10, Y10
	VPSRLW $4, Y11, Y11
	SIX(Y10, 4, Y4)
	SIX(Y11, 6, Y5)
	UDOT(Y2, Y6, 0)
	UDOT(Y3, Y7, 32)
	UDOT(Y4, Y8, 64)
	UDOT(Y5, Y9, 96)
	VPHADDD Y7, Y6, Y6
	VPHADDD Y9, Y8, Y8
	VPHADDD Y8, Y6, Y6
	VMOVDQU Y6, (DX)
	ADDQ $64, R8
	ADDQ $32, R9
	ADDQ $128, DI
	ADDQ $32, DX
	DECQ BX
	JNZ q6khalf
	ADDQ $210, SI
	DECQ CX
	JMP q6kloop
q6kdone:
	VZEROUPPER
	RET
