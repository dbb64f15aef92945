// run.c: a minimal, single-threaded C reference for greedy generation with a
// llama2.c "legacy" checkpoint, used to put the speed of ggmi's Go engine
// (package llama) side by side with C. Written from the architecture, not
// copied from llama2.c:
//
//   header: 7 int32 dim, hidden_dim, n_layers, n_heads, n_kv_heads,
//           vocab_size (negative: separate classifier), seq_len
//   float32 weights: token_embedding[vocab][dim], rms_att[L][dim],
//           wq[L][dim][dim], wk[L][kv_dim][dim], wv[L][kv_dim][dim],
//           wo[L][dim][dim], rms_ffn[L][dim], w1[L][hidden][dim],
//           w2[L][dim][hidden], w3[L][hidden][dim], rms_final[dim],
//           freq_cis_real/imag[seq_len][head_size/2] (skipped), [wcls]
//
// Forward: RMSNorm (eps 1e-5), interleaved RoPE (theta 10000), grouped-query
// attention, SwiGLU; next token = argmax of the logits (greedy).
//
// Usage: run MODEL [-n STEPS] [-t MIN_SECONDS] [-ids]
//   Generates STEPS tokens (default 256) from BOS (token 1), starting again
//   at position 0 until MIN_SECONDS (default 1) have passed, and prints
//   "tokens/s <rate>". With -ids it prints the token ids of one run instead.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
	int dim, hidden, layers, heads, kv_heads, vocab, seq_len, shared;
} config;

typedef struct {
	float *emb, *rms_att, *wq, *wk, *wv, *wo, *rms_ffn, *w1, *w2, *w3, *rms_final, *wcls;
} weights;

typedef struct {
	float *x, *xb, *xb2, *hb, *hb2, *q, *att, *logits, *kcache, *vcache;
} buffers;

static void *xcalloc(size_t n, size_t size) {
	void *p = calloc(n, size);
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	return p;
}

static float *data; // the whole file

static void load(const char *path, config *c, weights *w) {
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	if (size < 28) {
		fprintf(stderr, "%s: %ld bytes, too short for the header\n", path, size);
		exit(1);
	}
	data = xcalloc((size_t)size / 4 + 1, 4);
	if (fread(data, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "%s: short read\n", path);
		exit(1);
	}
	fclose(f);
	int32_t h[7];
	memcpy(h, data, sizeof h);
	c->dim = h[0], c->hidden = h[1], c->layers = h[2], c->heads = h[3];
	c->kv_heads = h[4], c->vocab = abs(h[5]), c->seq_len = h[6], c->shared = h[5] > 0;
	if (c->dim <= 0 || c->hidden <= 0 || c->layers <= 0 || c->heads <= 0 || c->kv_heads <= 0 ||
	    c->vocab <= 0 || c->seq_len <= 0 || c->dim % c->heads || c->heads % c->kv_heads) {
		fprintf(stderr, "%s: invalid header\n", path);
		exit(1);
	}
	size_t dim = c->dim, hid = c->hidden, L = c->layers, V = c->vocab;
	size_t hs = dim / c->heads, kvd = hs * c->kv_heads;
	float *p = data + 7;
	w->emb = p, p += V * dim;
	w->rms_att = p, p += L * dim;
	w->wq = p, p += L * dim * dim;
	w->wk = p, p += L * kvd * dim;
	w->wv = p, p += L * kvd * dim;
	w->wo = p, p += L * dim * dim;
	w->rms_ffn = p, p += L * dim;
	w->w1 = p, p += L * hid * dim;
	w->w2 = p, p += L * dim * hid;
	w->w3 = p, p += L * hid * dim;
	w->rms_final = p, p += dim;
	p += (size_t)c->seq_len * hs; // RoPE tables, real and imaginary halves
	w->wcls = w->emb;
	if (!c->shared)
		w->wcls = p, p += V * dim;
	if ((size_t)(p - data) * 4 > (size_t)size) {
		fprintf(stderr, "%s: %ld bytes, the header needs %zu\n", path, size, (size_t)(p - data) * 4);
		exit(1);
	}
}

static void alloc_buffers(const config *c, buffers *b) {
	size_t kvd = (size_t)c->dim / c->heads * c->kv_heads;
	b->x = xcalloc(c->dim, 4);
	b->xb = xcalloc(c->dim, 4);
	b->xb2 = xcalloc(c->dim, 4);
	b->hb = xcalloc(c->hidden, 4);
	b->hb2 = xcalloc(c->hidden, 4);
	b->q = xcalloc(c->dim, 4);
	b->att = xcalloc((size_t)c->heads * c->seq_len, 4);
	b->logits = xcalloc(c->vocab, 4);
	b->kcache = xcalloc((size_t)c->layers * c->seq_len * kvd, 4);
	b->vcache = xcalloc((size_t)c->layers * c->seq_len * kvd, 4);
}

// out = weight * x / sqrt(mean(x^2) + eps)
static void rmsnorm(float *out, const float *x, const float *weight, int n) {
	float ss = 0;
	for (int i = 0; i < n; i++)
		ss += x[i] * x[i];
	ss = 1.0f / sqrtf(ss / n + 1e-5f);
	for (int i = 0; i < n; i++)
		out[i] = weight[i] * (ss * x[i]);
}

// out[d] = W[d][n] x[n]
static void matvec(float *restrict out, const float *restrict x, const float *restrict w, int n, int d) {
	for (int i = 0; i < d; i++) {
		const float *row = w + (size_t)i * n;
		float s = 0;
		for (int j = 0; j < n; j++)
			s += row[j] * x[j];
		out[i] = s;
	}
}

// rotate consecutive pairs (2j, 2j+1) of every head of v by pos*theta^(-2j/hs)
static void rope(float *v, int n, int hs, int pos) {
	for (int i = 0; i < n; i += 2) {
		int j = i % hs;
		float freq = 1.0f / powf(10000.0f, (float)j / (float)hs);
		float a = pos * freq, cr = cosf(a), ci = sinf(a);
		float v0 = v[i], v1 = v[i + 1];
		v[i] = v0 * cr - v1 * ci;
		v[i + 1] = v0 * ci + v1 * cr;
	}
}

static float *forward(const config *c, const weights *w, buffers *b, int token, int pos) {
	int dim = c->dim, hid = c->hidden, hs = dim / c->heads;
	int kvd = hs * c->kv_heads, group = c->heads / c->kv_heads;
	float *x = b->x;
	memcpy(x, w->emb + (size_t)token * dim, dim * sizeof *x);
	for (int l = 0; l < c->layers; l++) {
		rmsnorm(b->xb, x, w->rms_att + (size_t)l * dim, dim);
		size_t coff = (size_t)l * c->seq_len * kvd;
		float *k = b->kcache + coff + (size_t)pos * kvd;
		float *v = b->vcache + coff + (size_t)pos * kvd;
		matvec(b->q, b->xb, w->wq + (size_t)l * dim * dim, dim, dim);
		matvec(k, b->xb, w->wk + (size_t)l * kvd * dim, dim, kvd);
		matvec(v, b->xb, w->wv + (size_t)l * kvd * dim, dim, kvd);
		rope(b->q, dim, hs, pos);
		rope(k, kvd, hs, pos);
		float scale = 1.0f / sqrtf((float)hs);
		for (int h = 0; h < c->heads; h++) {
			const float *q = b->q + h * hs;
			float *att = b->att + (size_t)h * c->seq_len;
			int kh = (h / group) * hs;
			float mx = 0; // set at t = 0 (no infinities: -ffast-math)
			for (int t = 0; t <= pos; t++) {
				const float *kt = b->kcache + coff + (size_t)t * kvd + kh;
				float s = 0;
				for (int i = 0; i < hs; i++)
					s += q[i] * kt[i];
				s *= scale;
				att[t] = s;
				if (t == 0 || s > mx)
					mx = s;
			}
			float sum = 0;
			for (int t = 0; t <= pos; t++) {
				att[t] = expf(att[t] - mx);
				sum += att[t];
			}
			float *out = b->xb + h * hs;
			memset(out, 0, hs * sizeof *out);
			for (int t = 0; t <= pos; t++) {
				const float *vt = b->vcache + coff + (size_t)t * kvd + kh;
				float a = att[t] / sum;
				for (int i = 0; i < hs; i++)
					out[i] += a * vt[i];
			}
		}
		matvec(b->xb2, b->xb, w->wo + (size_t)l * dim * dim, dim, dim);
		for (int i = 0; i < dim; i++)
			x[i] += b->xb2[i];

		rmsnorm(b->xb, x, w->rms_ffn + (size_t)l * dim, dim);
		matvec(b->hb, b->xb, w->w1 + (size_t)l * hid * dim, dim, hid);
		matvec(b->hb2, b->xb, w->w3 + (size_t)l * hid * dim, dim, hid);
		for (int i = 0; i < hid; i++) {
			float g = b->hb[i];
			b->hb[i] = g / (1.0f + expf(-g)) * b->hb2[i]; // SiLU(w1 x) * (w3 x)
		}
		matvec(b->xb2, b->hb, w->w2 + (size_t)l * dim * hid, hid, dim);
		for (int i = 0; i < dim; i++)
			x[i] += b->xb2[i];
	}
	rmsnorm(x, x, w->rms_final, dim);
	matvec(b->logits, x, w->wcls, dim, c->vocab);
	return b->logits;
}

static int argmax(const float *v, int n) {
	int best = 0;
	for (int i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

// generate runs steps greedy steps from BOS and stores the new tokens in out.
static void generate(const config *c, const weights *w, buffers *b, int steps, int *out) {
	int token = 1; // BOS
	for (int pos = 0; pos < steps; pos++) {
		token = argmax(forward(c, w, b, token, pos), c->vocab);
		out[pos] = token;
	}
}

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: %s MODEL [-n STEPS] [-t MIN_SECONDS] [-ids]\n", argv[0]);
		return 2;
	}
	int steps = 256, ids = 0;
	double min_sec = 1.0;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			steps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-t") && i + 1 < argc)
			min_sec = atof(argv[++i]);
		else if (!strcmp(argv[i], "-ids"))
			ids = 1;
		else {
			fprintf(stderr, "unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	config c;
	weights w;
	buffers b;
	load(argv[1], &c, &w);
	if (steps <= 0 || steps > c.seq_len) {
		fprintf(stderr, "steps must be in [1, %d]\n", c.seq_len);
		return 2;
	}
	alloc_buffers(&c, &b);
	int *out = xcalloc(steps, sizeof *out);
	if (ids) {
		generate(&c, &w, &b, steps, out);
		for (int i = 0; i < steps; i++)
			printf("%d\n", out[i]);
		return 0;
	}
	generate(&c, &w, &b, steps, out); // warm-up
	long tokens = 0;
	double start = now(), el;
	do {
		generate(&c, &w, &b, steps, out);
		tokens += steps;
		el = now() - start;
	} while (el < min_sec);
	printf("tokens/s %.1f (%ld tokens in %.3f s)\n", tokens / el, tokens, el);
	return 0;
}
