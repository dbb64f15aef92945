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

// SCALES4K decodes the 6-bit scales and mins of the q4_K super-block at
// SI (bytes 4..15) into R12 (scales 0..7, one byte each) and R8 (mins
// 0..7); uses AX, BX, R11, R13.
#define SCALES4K \
	MOVL 4(SI), AX \
	MOVL 8(SI), BX \
	MOVL 12(SI), R11 \
	MOVL AX, R12 \
	ANDL $0x3f3f3f3f, R12 \
	MOVL R11, R13 \
	ANDL $0x0f0f0f0f, R13 \
	SHRL $6, AX \
	ANDL $0x03030303, AX \
	SHLL $4, AX \
	ORL AX, R13 \
	SHLQ $32, R13 \
	ORQ R13, R12 \
	MOVL BX, R8 \
	ANDL $0x3f3f3f3f, R8 \
	SHRL $4, R11 \
	ANDL $0x0f0f0f0f, R11 \
	SHRL $6, BX \
	ANDL $0x03030303, BX \
	SHLL $4, BX \
	ORL BX, R11 \
	SHLQ $32, R11 \
	ORQ R11, R8

// func dotQ4Kavx(w *byte, q *int8, bs *int16, d *float32, nb int) float32
// Σ over the q4_K super-blocks k (144 bytes at w) of
// (d_k·da_k)·si_k − (dmin_k·da_k)·sm_k in block order, each operation
// rounded to float32 as written (no fused multiply-add), where
// si_k = Σ_j sc_j·(sum over sub-block j of nibble·activation) and
// sm_k = Σ_j m_j·(Σ activations of sub-block j) are exact integers (bs
// holds the activation sums of each 16 values, d the activation scales).
TEXT ·dotQ4Kavx(SB), NOSPLIT, $0-44
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ bs+16(FP), R10
	MOVQ d+24(FP), DX
	MOVQ nb+32(FP), CX
	VXORPS X0, X0, X0
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
	VINSERTI128 $1, X10, Y8, Y8
	SCALES4K
	VMOVQ R12, X1
	VPMOVZXBD X1, Y1
	VPMULLD Y8, Y1, Y1
	VMOVQ R8, X2
	VPMOVZXBD X2, Y2
	VMOVDQU (R10), Y3
	VPMADDWD Y15, Y3, Y3
	VPMULLD Y3, Y2, Y2
	VPHADDD Y2, Y1, Y1
	VEXTRACTI128 $1, Y1, X2
	VPADDD X2, X1, X1
	VPHADDD X1, X1, X1
	VCVTDQ2PS X1, X1
	MOVWLZX (SI), AX
	VMOVD AX, X6
	VCVTPH2PS X6, X6
	MOVWLZX 2(SI), AX
	VMOVD AX, X7
	VCVTPH2PS X7, X7
	VMOVSS (DX), X12
	VMULSS X12, X6, X6
	VMULSS X1, X6, X6
	VMULSS X12, X7, X7
	VPSHUFD $1, X1, X13
	VMULSS X13, X7, X7
	VSUBSS X7, X6, X6
	VADDSS X6, X0, X0
	ADDQ $144, SI
	ADDQ $256, DI
	ADDQ $32, R10
	ADDQ $4, DX
	DECQ CX
	JMP q4kloop
q4kdone:
	VMOVSS X0, ret+40(FP)
	VZEROUPPER
	RET

// HIBIT5(SH, R): R |= ((qh >> SH) & 1) << 4 bytewise, qh in Y6, Y13 =
// 0x01 bytes; uses Y7.
#define HIBIT5(SH, R) \
	VPSRLW $SH, Y6, Y7 \
	VPAND Y13, Y7, Y7 \
	VPSLLW $4, Y7, Y7 \
	VPOR Y7, R, R

// func dotQ5Kavx(w *byte, q *int8, bs *int16, d *float32, nb int) float32
// dotQ4Kavx for q5_K super-blocks (176 bytes: d, dmin, 12 bytes of
// scales and mins, 32 bytes of fifth bits qh, 128 bytes of nibbles): bit
// 2c of qh[l] tops the low nibble of byte l of chunk c, bit 2c+1 the high.
TEXT ·dotQ5Kavx(SB), NOSPLIT, $0-44
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ bs+16(FP), R10
	MOVQ d+24(FP), DX
	MOVQ nb+32(FP), CX
	VXORPS X0, X0, X0
	ONES16
	MOVL $0x0F0F0F0F, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x01010101, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
q5kloop:
	TESTQ CX, CX
	JZ q5kdone
	VMOVDQU 16(SI), Y6 // qh
	// chunk 0
	VMOVDQU 48(SI), Y1
	VPAND Y14, Y1, Y2
	VPSRLW $4, Y1, Y3
	VPAND Y14, Y3, Y3
	HIBIT5(0, Y2)
	HIBIT5(1, Y3)
	UDOT(Y2, Y4, 0)
	UDOT(Y3, Y5, 32)
	VPHADDD Y5, Y4, Y8
	// chunk 1
	VMOVDQU 80(SI), Y1
	VPAND Y14, Y1, Y2
	VPSRLW $4, Y1, Y3
	VPAND Y14, Y3, Y3
	HIBIT5(2, Y2)
	HIBIT5(3, Y3)
	UDOT(Y2, Y4, 64)
	UDOT(Y3, Y5, 96)
	VPHADDD Y5, Y4, Y9
	// chunk 2
	VMOVDQU 112(SI), Y1
	VPAND Y14, Y1, Y2
	VPSRLW $4, Y1, Y3
	VPAND Y14, Y3, Y3
	HIBIT5(4, Y2)
	HIBIT5(5, Y3)
	UDOT(Y2, Y4, 128)
	UDOT(Y3, Y5, 160)
	VPHADDD Y5, Y4, Y10
	// chunk 3
	VMOVDQU 144(SI), Y1
	VPAND Y14, Y1, Y2
	VPSRLW $4, Y1, Y3
	VPAND Y14, Y3, Y3
	HIBIT5(6, Y2)
	HIBIT5(7, Y3)
	UDOT(Y2, Y4, 192)
	UDOT(Y3, Y5, 224)
	VPHADDD Y5, Y4, Y11
	VPHADDD Y9, Y8, Y8
	VPHADDD Y11, Y10, Y10
	VEXTRACTI128 $1, Y8, X9
	VPADDD X9, X8, X8
	VEXTRACTI128 $1, Y10, X11
	VPADDD X11, X10, X10
	VINSERTI128 $1, X10, Y8, Y8
	SCALES4K
	VMOVQ R12, X1
	VPMOVZXBD X1, Y1
	VPMULLD Y8, Y1, Y1
	VMOVQ R8, X2
	VPMOVZXBD X2, Y2
	VMOVDQU (R10), Y3
	VPMADDWD Y15, Y3, Y3
	VPMULLD Y3, Y2, Y2
	VPHADDD Y2, Y1, Y1
	VEXTRACTI128 $1, Y1, X2
	VPADDD X2, X1, X1
	VPHADDD X1, X1, X1
	VCVTDQ2PS X1, X1
	MOVWLZX (SI), AX
	VMOVD AX, X6
	VCVTPH2PS X6, X6
	MOVWLZX 2(SI), AX
	VMOVD AX, X7
	VCVTPH2PS X7, X7
	VMOVSS (DX), X12
	VMULSS X12, X6, X6
	VMULSS X1, X6, X6
	VMULSS X12, X7, X7
	VPSHUFD $1, X1, X5
	VMULSS X5, X7, X7
	VSUBSS X7, X6, X6
	VADDSS X6, X0, X0
	ADDQ $176, SI
	ADDQ $256, DI
	ADDQ $32, R10
	ADDQ $4, DX
	DECQ CX
	JMP q5kloop
q5kdone:
	VMOVSS X0, ret+40(FP)
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

// q6perm puts the sub-block sums of a q6_K half, computed in the order
// 0,2,4,6,1,3,5,7, back in order (VPERMD indices).
DATA q6perm<>+0(SB)/4, $0
DATA q6perm<>+4(SB)/4, $4
DATA q6perm<>+8(SB)/4, $1
DATA q6perm<>+12(SB)/4, $5
DATA q6perm<>+16(SB)/4, $2
DATA q6perm<>+20(SB)/4, $6
DATA q6perm<>+24(SB)/4, $3
DATA q6perm<>+28(SB)/4, $7
GLOBL q6perm<>(SB), RODATA|NOPTR, $32

// func dotQ6Kavx(w *byte, q *int8, bs *int16, d *float32, nb int) float32
// Σ over the q6_K super-blocks k (210 bytes at w) of (d_k·da_k)·si_k in
// block order, each operation rounded to float32, where si_k =
// Σ_j sc_j·(Σ over sub-block j of (stored 6-bit value)·activation −
// 32·Σ activations of sub-block j) is an exact integer (bs holds the
// activation sums of each 16 values, d the activation scales). The sum is
// kept in the result slot (no vector register is free).
TEXT ·dotQ6Kavx(SB), NOSPLIT, $0-44
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ bs+16(FP), R10
	MOVQ d+24(FP), DX
	MOVQ nb+32(FP), CX
	MOVL $0, ret+40(FP)
	ONES16
	MOVL $0x0F0F0F0F, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x03030303, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
	VMOVDQU q6perm<>(SB), Y0
q6kloop:
	TESTQ CX, CX
	JZ q6kdone
	MOVQ SI, R8       // ql of the current half
	LEAQ 128(SI), R9  // qh of the current half
	LEAQ 192(SI), R11 // scales of the current half
	XORL R12, R12
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
	VPERMD Y6, Y0, Y6
	VPMOVSXBD (R11), Y3
	VPMOVSXWD (R10), Y4
	VPSLLD $5, Y4, Y4
	VPSUBD Y4, Y6, Y6
	VPMULLD Y3, Y6, Y6
	VEXTRACTI128 $1, Y6, X7
	VPADDD X7, X6, X6
	VPHADDD X6, X6, X6
	VPHADDD X6, X6, X6
	VMOVD X6, AX
	ADDL AX, R12
	ADDQ $64, R8
	ADDQ $32, R9
	ADDQ $8, R11
	ADDQ $16, R10
	ADDQ $128, DI
	DECQ BX
	JNZ q6khalf
	VMOVD R12, X6
	VCVTDQ2PS X6, X6
	MOVWLZX 208(SI), AX
	VMOVD AX, X7
	VCVTPH2PS X7, X7
	VMULSS (DX), X7, X7
	VMULSS X6, X7, X7
	VADDSS ret+40(FP), X7, X7
	VMOVSS X7, ret+40(FP)
	ADDQ $4, DX
	ADDQ $210, SI
	DECQ CX
	JMP q6kloop
q6kdone:
	VZEROUPPER
	RET

// Four-activation kernels for matrix–matrix products: one weight row times
// four prepared activations, each weight block loaded and unpacked once.
// For every activation the arithmetic is that of the one-activation
// kernel above in the same order, so each result is bit for bit what
// dotQ8_0avx / dotQ4_0avx / sumsQ4Kavx give.

// DOTX4(Q, D, ACC): ACC += (Σ Y1·(Q)(DI)) · (Y6·(D)(DX*4)), where Y1 holds
// the signed weights, Y7 their absolute values and Y6 the broadcast weight
// scale. Uses Y2-Y4.
#define DOTX4(Q, D, ACC) \
	VMOVDQU (Q)(DI*1), Y2 \
	VPSIGNB Y1, Y2, Y2 \
	VPMADDUBSW Y2, Y7, Y3 \
	VPMADDWD Y15, Y3, Y3 \
	VCVTDQ2PS Y3, Y3 \
	VBROADCASTSS (D)(DX*4), Y4 \
	VMULPS Y4, Y6, Y4 \
	VFMADD231PS Y3, Y4, ACC

// HSTORE(ACC, OFF): stores the lane sum of ACC (HSUM8's order) at OFF(SI).
#define HSTORE(ACC, OFF) \
	VMOVAPS ACC, Y0 \
	HSUM8 \
	VMOVSS X0, OFF(SI)

// func dotQ8_0x4avx(w *byte, q0, q1, q2, q3 *int8, d0, d1, d2, d3 *float32, nb int, out *float32)
TEXT ·dotQ8_0x4avx(SB), NOSPLIT, $0-88
	MOVQ w+0(FP), SI
	MOVQ q0+8(FP), R8
	MOVQ q1+16(FP), R9
	MOVQ q2+24(FP), R10
	MOVQ q3+32(FP), R11
	MOVQ d0+40(FP), R12
	MOVQ d1+48(FP), R13
	MOVQ d2+56(FP), BX
	MOVQ d3+64(FP), AX
	MOVQ nb+72(FP), CX
	XORQ DX, DX
	MOVL $0x00010001, DI
	VMOVD DI, X15
	VPBROADCASTD X15, Y15
	XORQ DI, DI
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
q8x4loop:
	CMPQ DX, CX
	JGE q8x4done
	VPBROADCASTW (SI), X6
	VCVTPH2PS X6, Y6
	VMOVDQU 2(SI), Y1
	VPSIGNB Y1, Y1, Y7
	DOTX4(R8, R12, Y10)
	DOTX4(R9, R13, Y11)
	DOTX4(R10, BX, Y12)
	DOTX4(R11, AX, Y13)
	ADDQ $34, SI
	ADDQ $32, DI
	INCQ DX
	JMP q8x4loop
q8x4done:
	MOVQ out+80(FP), SI
	HSTORE(Y10, 0)
	HSTORE(Y11, 4)
	HSTORE(Y12, 8)
	HSTORE(Y13, 12)
	VZEROUPPER
	RET

// func dotQ4_0x4avx(w *byte, q0, q1, q2, q3 *int8, d0, d1, d2, d3 *float32, nb int, out *float32)
TEXT ·dotQ4_0x4avx(SB), NOSPLIT, $0-88
	MOVQ w+0(FP), SI
	MOVQ q0+8(FP), R8
	MOVQ q1+16(FP), R9
	MOVQ q2+24(FP), R10
	MOVQ q3+32(FP), R11
	MOVQ d0+40(FP), R12
	MOVQ d1+48(FP), R13
	MOVQ d2+56(FP), BX
	MOVQ d3+64(FP), AX
	MOVQ nb+72(FP), CX
	XORQ DX, DX
	MOVL $0x00010001, DI
	VMOVD DI, X15
	VPBROADCASTD X15, Y15
	MOVL $0x0F0F0F0F, DI
	VMOVD DI, X14
	VPBROADCASTD X14, Y14
	MOVL $0x08080808, DI
	VMOVD DI, X9
	VPBROADCASTD X9, Y9
	XORQ DI, DI
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
q4x4loop:
	CMPQ DX, CX
	JGE q4x4done
	VPBROADCASTW (SI), X6
	VCVTPH2PS X6, Y6
	VMOVDQU 2(SI), X1
	VPSRLW $4, X1, X2
	VINSERTI128 $1, X2, Y1, Y1
	VPAND Y14, Y1, Y1
	VPSUBB Y9, Y1, Y1
	VPSIGNB Y1, Y1, Y7
	DOTX4(R8, R12, Y10)
	DOTX4(R9, R13, Y11)
	DOTX4(R10, BX, Y12)
	DOTX4(R11, AX, Y13)
	ADDQ $18, SI
	ADDQ $32, DI
	INCQ DX
	JMP q4x4loop
q4x4done:
	MOVQ out+80(FP), SI
	HSTORE(Y10, 0)
	HSTORE(Y11, 4)
	HSTORE(Y12, 8)
	HSTORE(Y13, 12)
	VZEROUPPER
	RET

// q5shuf spreads the four bytes of a broadcast q5_0 qh over 32 bytes (byte
// j takes qh byte j/8); q5bits then picks bit j%8 of each.
DATA q5shuf<>+0(SB)/8, $0x0000000000000000
DATA q5shuf<>+8(SB)/8, $0x0101010101010101
DATA q5shuf<>+16(SB)/8, $0x0202020202020202
DATA q5shuf<>+24(SB)/8, $0x0303030303030303
GLOBL q5shuf<>(SB), RODATA|NOPTR, $32
DATA q5bits<>+0(SB)/8, $0x8040201008040201
DATA q5bits<>+8(SB)/8, $0x8040201008040201
DATA q5bits<>+16(SB)/8, $0x8040201008040201
DATA q5bits<>+24(SB)/8, $0x8040201008040201
GLOBL q5bits<>(SB), RODATA|NOPTR, $32

// func dotQ5_0avx(w *byte, q *int8, d *float32, nb int) float32
// dotQ4_0avx for q5_0 blocks (22 bytes: f16 scale, 32 fifth bits qh, 16
// bytes of nibbles): value j is (nibble j | bit j of qh << 4) − 16.
TEXT ·dotQ5_0avx(SB), NOSPLIT, $0-36
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ nb+24(FP), CX
	ONES16
	MOVL $0x0F0F0F0F, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x10101010, AX
	VMOVD AX, X11
	VPBROADCASTD X11, Y11
	VMOVDQU q5shuf<>(SB), Y9
	VMOVDQU q5bits<>(SB), Y10
	VXORPS Y0, Y0, Y0
q50loop:
	TESTQ CX, CX
	JZ q50done
	BLOCKSCALE(0, DX)
	VMOVDQU 6(SI), X1
	VPSRLW $4, X1, X2
	VINSERTI128 $1, X2, Y1, Y1
	VPAND Y14, Y1, Y1
	VPBROADCASTD 2(SI), Y8
	VPSHUFB Y9, Y8, Y8
	VPAND Y10, Y8, Y8
	VPCMPEQB Y10, Y8, Y8
	VPAND Y11, Y8, Y8
	VPOR Y8, Y1, Y1
	VPSUBB Y11, Y1, Y1
	SIGNDOT
	ADDQ $22, SI
	ADDQ $32, DI
	ADDQ $4, DX
	DECQ CX
	JMP q50loop
q50done:
	HSUM8
	VMOVSS X0, ret+32(FP)
	VZEROUPPER
	RET
