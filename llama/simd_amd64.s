//go:build amd64 && !purego

#include "textflag.h"

// func gemvTavx(s, x, m *float32, rows, n, ld int)
// s[j] = Σ_i x[i]·m[i*ld+j], 8 columns at a time.
TEXT ·gemvTavx(SB), NOSPLIT, $0-48
	MOVQ s+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ rows+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ ld+40(FP), R10
	SHLQ $2, R10
	SHLQ $2, CX
	XORQ AX, AX          // column byte offset

gtcol:
	CMPQ AX, CX
	JGE  gtdone
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	LEAQ (R8)(AX*1), R11 // &m[0][j]
	XORQ BX, BX          // row index
	MOVQ R9, DX
	ANDQ $-2, DX

gtrow2:
	CMPQ BX, DX
	JGE  gtrow1
	VBROADCASTSS (SI)(BX*4), Y2
	VBROADCASTSS 4(SI)(BX*4), Y3
	VFMADD231PS  (R11), Y2, Y0
	VFMADD231PS  (R11)(R10*1), Y3, Y1
	LEAQ         (R11)(R10*2), R11
	ADDQ         $2, BX
	JMP          gtrow2

gtrow1:
	CMPQ BX, R9
	JGE  gtstore
	VBROADCASTSS (SI)(BX*4), Y2
	VFMADD231PS  (R11), Y2, Y0

gtstore:
	VADDPS  Y1, Y0, Y0
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ    $32, AX
	JMP     gtcol

gtdone:
	VZEROUPPER
	RET

// func gemv8avx(o, p, m *float32, n, ld int)
// o[0:8] += Σ_j p[j]·m[j*ld : j*ld+8]
TEXT ·gemv8avx(SB), NOSPLIT, $0-40
	MOVQ o+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ n+24(FP), CX
	MOVQ ld+32(FP), R10
	SHLQ $2, R10
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	XORQ BX, BX
	MOVQ CX, DX
	ANDQ $-2, DX

g8two:
	CMPQ BX, DX
	JGE  g8one
	VBROADCASTSS (SI)(BX*4), Y2
	VBROADCASTSS 4(SI)(BX*4), Y3
	VFMADD231PS  (R8), Y2, Y0
	VFMADD231PS  (R8)(R10*1), Y3, Y1
	LEAQ         (R8)(R10*2), R8
	ADDQ         $2, BX
	JMP          g8two

g8one:
	CMPQ BX, CX
	JGE  g8store
	VBROADCASTSS (SI)(BX*4), Y2
	VFMADD231PS  (R8), Y2, Y0

g8store:
	VADDPS  Y1, Y0, Y0
	VADDPS  (DI), Y0, Y0
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// func geravx(d, x, y *float32, rows, n, ld int)
// d[i*ld+j] += x[i]·y[j]
TEXT ·geravx(SB), NOSPLIT, $0-48
	MOVQ d+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), R8
	MOVQ rows+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ ld+40(FP), R10
	SHLQ $2, R10
	SHLQ $2, CX
	XORQ BX, BX

grrow:
	CMPQ BX, R9
	JGE  grdone
	VBROADCASTSS (SI)(BX*4), Y2
	XORQ         AX, AX

grcol:
	CMPQ        AX, CX
	JGE         grnext
	VMOVUPS     (R8)(AX*1), Y3
	VFMADD213PS (DI)(AX*1), Y2, Y3
	VMOVUPS     Y3, (DI)(AX*1)
	ADDQ        $32, AX
	JMP         grcol

grnext:
	ADDQ R10, DI
	INCQ BX
	JMP  grrow

grdone:
	VZEROUPPER
	RET

// Constants of the vector exponential (Cephes expf, as in avx_mathfun).
DATA expc<>+0(SB)/4, $0x42b0c0a5   // 88.3762626647949 (clamp)
DATA expc<>+4(SB)/4, $0xc2b0c0a5   // -88.3762626647949
DATA expc<>+8(SB)/4, $0x3fb8aa3b   // log2(e)
DATA expc<>+12(SB)/4, $0x3f318000  // C1 = 0.693359375
DATA expc<>+16(SB)/4, $0xb95e8083  // C2 = -2.12194440e-4
DATA expc<>+20(SB)/4, $0x39506967  // p0 1.9875691500e-4
DATA expc<>+24(SB)/4, $0x3ab743ce  // p1 1.3981999507e-3
DATA expc<>+28(SB)/4, $0x3c088908  // p2 8.3334519073e-3
DATA expc<>+32(SB)/4, $0x3d2aa9c1  // p3 4.1665795894e-2
DATA expc<>+36(SB)/4, $0x3e2aaaaa  // p4 1.6666665459e-1
DATA expc<>+40(SB)/4, $0x3f000000  // p5 0.5
DATA expc<>+44(SB)/4, $0x3f800000  // 1.0
DATA expc<>+48(SB)/4, $0x0000007f  // 127
GLOBL expc<>(SB), RODATA|NOPTR, $52

// func expSubSumAVX(x *float32, n int, mx float32) float32
// x[j] = exp(x[j]-mx) for j < n (a multiple of 8); returns Σ x[j].
TEXT ·expSubSumAVX(SB), NOSPLIT, $0-28
	MOVQ         x+0(FP), DI
	MOVQ         n+8(FP), CX
	VBROADCASTSS mx+16(FP), Y15
	VBROADCASTSS expc<>+0(SB), Y14
	VBROADCASTSS expc<>+4(SB), Y13
	VBROADCASTSS expc<>+8(SB), Y12
	VBROADCASTSS expc<>+12(SB), Y11
	VBROADCASTSS expc<>+16(SB), Y10
	VBROADCASTSS expc<>+44(SB), Y9
	VPBROADCASTD expc<>+48(SB), Y8
	VXORPS       Y7, Y7, Y7          // sum
	SHLQ         $2, CX
	XORQ         AX, AX

exloop:
	CMPQ AX, CX
	JGE  exdone
	VMOVUPS      (DI)(AX*1), Y0
	VSUBPS       Y15, Y0, Y0         // x - mx
	VMINPS       Y14, Y0, Y0
	VMAXPS       Y13, Y0, Y0
	VMULPS       Y12, Y0, Y1         // x·log2e
	VROUNDPS     $0, Y1, Y1          // n = round(x·log2e)
	VFNMADD231PS Y11, Y1, Y0         // x -= n·C1
	VFNMADD231PS Y10, Y1, Y0         // x -= n·C2
	VMULPS       Y0, Y0, Y2          // x²
	VBROADCASTSS expc<>+20(SB), Y3
	VBROADCASTSS expc<>+24(SB), Y4
	VFMADD213PS  Y4, Y0, Y3          // p0·x + p1
	VBROADCASTSS expc<>+28(SB), Y4
	VFMADD213PS  Y4, Y0, Y3
	VBROADCASTSS expc<>+32(SB), Y4
	VFMADD213PS  Y4, Y0, Y3
	VBROADCASTSS expc<>+36(SB), Y4
	VFMADD213PS  Y4, Y0, Y3
	VBROADCASTSS expc<>+40(SB), Y4
	VFMADD213PS  Y4, Y0, Y3
	VFMADD213PS  Y0, Y2, Y3          // y·x² + x
	VADDPS       Y9, Y3, Y3          // + 1
	VCVTPS2DQ    Y1, Y1
	VPADDD       Y8, Y1, Y1
	VPSLLD       $23, Y1, Y1         // 2^n
	VMULPS       Y1, Y3, Y3
	VMOVUPS      Y3, (DI)(AX*1)
	VADDPS       Y3, Y7, Y7
	ADDQ         $32, AX
	JMP          exloop

exdone:
	VEXTRACTF128 $1, Y7, X0
	VADDPS       X0, X7, X7
	VHADDPS      X7, X7, X7
	VHADDPS      X7, X7, X7
	MOVSS        X7, ret+24(FP)
	VZEROUPPER
	RET

// func scaleMaxAVX(x *float32, n int, s float32) float32
// x[j] *= s for j < n (a multiple of 8, > 0); returns max x[j].
TEXT ·scaleMaxAVX(SB), NOSPLIT, $0-28
	MOVQ         x+0(FP), DI
	MOVQ         n+8(FP), CX
	VBROADCASTSS s+16(FP), Y15
	SHLQ         $2, CX
	VMOVUPS      (DI), Y7
	VMULPS       Y15, Y7, Y7         // running max starts at the first block
	XORQ         AX, AX

smloop:
	CMPQ    AX, CX
	JGE     smdone
	VMOVUPS (DI)(AX*1), Y0
	VMULPS  Y15, Y0, Y0
	VMOVUPS Y0, (DI)(AX*1)
	VMAXPS  Y0, Y7, Y7
	ADDQ    $32, AX
	JMP     smloop

smdone:
	VEXTRACTF128 $1, Y7, X0
	VMAXPS       X0, X7, X7
	VPERMILPS    $0x4e, X7, X0
	VMAXPS       X0, X7, X7
	VPERMILPS    $0xb1, X7, X0
	VMAXPS       X0, X7, X7
	MOVSS        X7, ret+24(FP)
	VZEROUPPER
	RET

// func scaleAVX(x *float32, n int, s float32)
// x[j] *= s for j < n (a multiple of 8).
TEXT ·scaleAVX(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), DI
	MOVQ         n+8(FP), CX
	VBROADCASTSS s+16(FP), Y15
	SHLQ         $2, CX
	XORQ         AX, AX

scloop:
	CMPQ    AX, CX
	JGE     scdone
	VMOVUPS (DI)(AX*1), Y0
	VMULPS  Y15, Y0, Y0
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ    $32, AX
	JMP     scloop

scdone:
	VZEROUPPER
	RET

// func gemm4x16avx(c *float32, ldc int, a *float32, sai, sak int, b *float32, ldb, K int, acc bool)
// C[i][0:16] (+)= Σ_k a[i*sai+k*sak]·b[k*ldb : k*ldb+16] for i < 4.
TEXT ·gemm4x16avx(SB), NOSPLIT, $0-65
	MOVQ   c+0(FP), DI
	MOVQ   ldc+8(FP), R8
	SHLQ   $2, R8
	MOVQ   a+16(FP), SI
	MOVQ   sai+24(FP), R9
	SHLQ   $2, R9
	MOVQ   sak+32(FP), R10
	SHLQ   $2, R10
	MOVQ   b+40(FP), DX
	MOVQ   ldb+48(FP), R11
	SHLQ   $2, R11
	MOVQ   K+56(FP), CX
	LEAQ   (R9)(R9*2), R12
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

g16loop:
	TESTQ        CX, CX
	JE           g16done
	VMOVUPS      (DX), Y8
	VMOVUPS      32(DX), Y9
	VBROADCASTSS (SI), Y10
	VFMADD231PS  Y8, Y10, Y0
	VFMADD231PS  Y9, Y10, Y1
	VBROADCASTSS (SI)(R9*1), Y11
	VFMADD231PS  Y8, Y11, Y2
	VFMADD231PS  Y9, Y11, Y3
	VBROADCASTSS (SI)(R9*2), Y12
	VFMADD231PS  Y8, Y12, Y4
	VFMADD231PS  Y9, Y12, Y5
	VBROADCASTSS (SI)(R12*1), Y13
	VFMADD231PS  Y8, Y13, Y6
	VFMADD231PS  Y9, Y13, Y7
	ADDQ         R10, SI
	ADDQ         R11, DX
	DECQ         CX
	JMP          g16loop

g16done:
	LEAQ    (DI)(R8*2), BX
	MOVBLZX acc+64(FP), AX
	TESTQ   AX, AX
	JE      g16store
	VADDPS  (DI), Y0, Y0
	VADDPS  32(DI), Y1, Y1
	VADDPS  (DI)(R8*1), Y2, Y2
	VADDPS  32(DI)(R8*1), Y3, Y3
	VADDPS  (BX), Y4, Y4
	VADDPS  32(BX), Y5, Y5
	VADDPS  (BX)(R8*1), Y6, Y6
	VADDPS  32(BX)(R8*1), Y7, Y7

g16store:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, (DI)(R8*1)
	VMOVUPS Y3, 32(DI)(R8*1)
	VMOVUPS Y4, (BX)
	VMOVUPS Y5, 32(BX)
	VMOVUPS Y6, (BX)(R8*1)
	VMOVUPS Y7, 32(BX)(R8*1)
	VZEROUPPER
	RET

// func gemm4x8avx(c *float32, ldc int, a *float32, sai, sak int, b *float32, ldb, K int, acc bool)
// C[i][0:8] (+)= Σ_k a[i*sai+k*sak]·b[k*ldb : k*ldb+8] for i < 4.
TEXT ·gemm4x8avx(SB), NOSPLIT, $0-65
	MOVQ   c+0(FP), DI
	MOVQ   ldc+8(FP), R8
	SHLQ   $2, R8
	MOVQ   a+16(FP), SI
	MOVQ   sai+24(FP), R9
	SHLQ   $2, R9
	MOVQ   sak+32(FP), R10
	SHLQ   $2, R10
	MOVQ   b+40(FP), DX
	MOVQ   ldb+48(FP), R11
	SHLQ   $2, R11
	MOVQ   K+56(FP), CX
	LEAQ   (R9)(R9*2), R12
	VXORPS Y0, Y0, Y0
	VXORPS Y2, Y2, Y2
	VXORPS Y4, Y4, Y4
	VXORPS Y6, Y6, Y6

g8loop:
	TESTQ        CX, CX
	JE           g8done
	VMOVUPS      (DX), Y8
	VBROADCASTSS (SI), Y10
	VFMADD231PS  Y8, Y10, Y0
	VBROADCASTSS (SI)(R9*1), Y11
	VFMADD231PS  Y8, Y11, Y2
	VBROADCASTSS (SI)(R9*2), Y12
	VFMADD231PS  Y8, Y12, Y4
	VBROADCASTSS (SI)(R12*1), Y13
	VFMADD231PS  Y8, Y13, Y6
	ADDQ         R10, SI
	ADDQ         R11, DX
	DECQ         CX
	JMP          g8loop

g8done:
	LEAQ    (DI)(R8*2), BX
	MOVBLZX acc+64(FP), AX
	TESTQ   AX, AX
	JE      g8store
	VADDPS  (DI), Y0, Y0
	VADDPS  (DI)(R8*1), Y2, Y2
	VADDPS  (BX), Y4, Y4
	VADDPS  (BX)(R8*1), Y6, Y6

g8store:
	VMOVUPS Y0, (DI)
	VMOVUPS Y2, (DI)(R8*1)
	VMOVUPS Y4, (BX)
	VMOVUPS Y6, (BX)(R8*1)
	VZEROUPPER
	RET
