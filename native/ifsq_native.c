/*
 * ifsq_native: the heavy float32 kernels of a training step on the system BLAS (OpenBLAS, pthread build), for
 * lib/native-engine.ts. A Node-API addon (context-aware: loadable in every worker_thread), built by scripts/setup.sh
 * with the system compiler against the npm package node-api-headers; nothing is downloaded.
 *
 * Every function works in place on Float32Arrays (views on the wasm backend's heap: no copies), row-major:
 *   gemm      C[b] = op(A[b])·op(B[b])            A [batch, M, K] (or [K, M] transposed), stride 0 = broadcast
 *   conv2d    y  [B, Ho, Wo, O] = x ⋆ w           x [B, H, W, C] (NHWC), w [kh, kw, C, O]; stride s, pads top/left
 *   convDx    dx [B, H, W, C]  = col2im(dy·wᵀ)    (Conv2DBackpropInput)
 *   convDw    dw [kh, kw, C, O] = im2col(x)ᵀ·dy   (Conv2DBackpropFilter)
 *   reduce    out [outer, inner] = Σ or max over the middle of x [outer, mid, inner]   (Sum, Max over a block of axes)
 *   binary    out = a + − × ÷ b with broadcasting (Add, Sub, Multiply, RealDiv)
 * The convolutions run on oneDNN where the addon is built with it (-DIFSQ_DNNL, Debian libdnnl-dev), else (and for any
 * shape oneDNN refuses) as im2col + GEMM over blocks of output rows, so the patch buffer stays small (≤ ~4 MB).
 */
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>

extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);
extern char *openblas_get_config(void);
extern char *openblas_get_corename(void);

#ifdef IFSQ_DNNL
/*
 * Convolutions on oneDNN (Debian libdnnl-dev 2.6) when the addon is built with it: NHWC activations in place, the
 * filter [kh, kw, C, O] (oneDNN's "hwio") reordered to the layout the chosen kernel wants (brgconv/jit on AVX-512 or
 * AVX2; 2–3× the im2col + GEMM rate at our shapes). Returns 0 on success, else the im2col path runs.
 * kind 0: y = conv(x, w); 1: dx from (dy, w); 2: dw from (x, dy). One engine and stream per thread.
 */
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

static __thread dnnl_engine_t dn_eng;
static __thread dnnl_stream_t dn_strm;

static int dn_init(void) {
  if (dn_strm) return 0;
  if (dnnl_engine_create(&dn_eng, dnnl_cpu, 0) != dnnl_success) return -1;
  if (dnnl_stream_create(&dn_strm, dn_eng, dnnl_stream_default_flags) != dnnl_success) return -1;
  return 0;
}

#define DN(x) do { if ((x) != dnnl_success) goto done; } while (0)

/* reorder between two layouts of the same weights */
static int dn_reorder(const dnnl_memory_desc_t *from_md, void *from, const dnnl_memory_desc_t *to_md, dnnl_memory_t to_mem) {
  int rc = -1;
  dnnl_primitive_desc_t rpd = NULL;
  dnnl_primitive_t r = NULL;
  dnnl_memory_t fm = NULL;
  DN(dnnl_memory_create(&fm, from_md, dn_eng, from));
  DN(dnnl_reorder_primitive_desc_create(&rpd, from_md, dn_eng, to_md, dn_eng, NULL));
  DN(dnnl_primitive_create(&r, rpd));
  dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, fm}, {DNNL_ARG_TO, to_mem}};
  DN(dnnl_primitive_execute(r, dn_strm, 2, ra));
  rc = 0;
done:
  if (r) dnnl_primitive_destroy(r);
  if (rpd) dnnl_primitive_desc_destroy(rpd);
  if (fm) dnnl_memory_destroy(fm);
  return rc;
}

#endif

#define CHECK(call)                                                                                                   \
  do {                                                                                                                \
    if ((call) != napi_ok) { napi_throw_error(env, NULL, "ifsq_native: Node-API call failed: " #call); return NULL; } \
  } while (0)

static int get_f32(napi_env env, napi_value v, float **p, size_t *n) {
  napi_typedarray_type t;
  size_t len;
  void *data;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &t, &len, &data, &ab, &off) != napi_ok || t != napi_float32_array) return 0;
  *p = (float *)data;
  *n = len;
  return 1;
}

static int64_t get_i(napi_env env, napi_value v) {
  int64_t r = 0;
  napi_get_value_int64(env, v, &r);
  return r;
}

#define ARGS(n)                                                                                                       \
  size_t argc = n;                                                                                                    \
  napi_value argv[n];                                                                                                 \
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));                                                        \
  if (argc != n) { napi_throw_error(env, NULL, "ifsq_native: expected " #n " arguments"); return NULL; }

#define F32(i, name, need)                                                                                            \
  float *name;                                                                                                        \
  size_t name##_n;                                                                                                    \
  if (!get_f32(env, argv[i], &name, &name##_n)) { napi_throw_type_error(env, NULL, "ifsq_native: argument " #i " (" #name ") must be a Float32Array"); return NULL; } \
  if ((int64_t)name##_n < (int64_t)(need)) { napi_throw_range_error(env, NULL, "ifsq_native: " #name " is shorter than the shape needs"); return NULL; }

/* setThreads(n): OpenBLAS threads for the whole process. */
static napi_value set_threads(napi_env env, napi_callback_info info) {
  ARGS(1);
  openblas_set_num_threads((int)get_i(env, argv[0]));
#ifdef IFSQ_DNNL
  omp_set_num_threads((int)get_i(env, argv[0])); /* this thread's OpenMP team (oneDNN) */
#endif
  return NULL;
}

/* info(): "threads=<n> core=<name> config=<openblas config>". */
static napi_value get_info(napi_env env, napi_callback_info info) {
  (void)info;
  char buf[512];
#ifdef IFSQ_DNNL
  const dnnl_version_t *v = dnnl_version();
  snprintf(buf, sizeof buf, "threads=%d core=%s config=%s; convolutions: oneDNN %d.%d.%d", openblas_get_num_threads(), openblas_get_corename(), openblas_get_config(), v->major, v->minor, v->patch);
#else
  snprintf(buf, sizeof buf, "threads=%d core=%s config=%s; convolutions: im2col + OpenBLAS", openblas_get_num_threads(), openblas_get_corename(), openblas_get_config());
#endif
  napi_value r;
  CHECK(napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &r));
  return r;
}

/* gemm(batch, M, N, K, transA, transB, A, strideA, B, strideB, C): C[b] = op(A[b])·op(B[b]), C dense [batch, M, N]. */
static napi_value gemm(napi_env env, napi_callback_info info) {
  ARGS(11);
  int64_t batch = get_i(env, argv[0]), M = get_i(env, argv[1]), N = get_i(env, argv[2]), K = get_i(env, argv[3]);
  int ta = (int)get_i(env, argv[4]), tb = (int)get_i(env, argv[5]);
  int64_t sa = get_i(env, argv[7]), sb = get_i(env, argv[9]);
  F32(6, A, sa * (batch - 1) + M * K);
  F32(8, B, sb * (batch - 1) + K * N);
  F32(10, C, batch * M * N);
  for (int64_t b = 0; b < batch; b++) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, 1.0f,
                A + b * sa, ta ? (int)M : (int)K, B + b * sb, tb ? (int)K : (int)N, 0.0f, C + b * M * N, (int)N);
  }
  return NULL;
}

typedef struct conv_s {
  int64_t B, H, W, C, kh, kw, O, s, pt, pl, Ho, Wo;
} conv_t;

#ifdef IFSQ_DNNL
static int dn_conv(int kind, const conv_t *c, float *a, float *b, float *out) {
  if (dn_init()) return -1;
  int rc = -1;
  dnnl_dims_t sd = {c->B, c->C, c->H, c->W}, wd = {c->O, c->C, c->kh, c->kw}, dd = {c->B, c->O, c->Ho, c->Wo};
  dnnl_dims_t st = {c->s, c->s}, pl = {c->pt, c->pl};
  dnnl_dims_t pr = {(c->Ho - 1) * c->s + c->kh - c->H - c->pt, (c->Wo - 1) * c->s + c->kw - c->W - c->pl};
  dnnl_memory_desc_t smd, wmd, wany, dmd;
  dnnl_convolution_desc_t fd, bd;
  dnnl_primitive_desc_t fpd = NULL, pd = NULL;
  dnnl_primitive_t p = NULL;
  dnnl_memory_t sm = NULL, dm = NULL, wm = NULL;
  if (pr[0] < 0 || pr[1] < 0) return -1;
  DN(dnnl_memory_desc_init_by_tag(&smd, 4, sd, dnnl_f32, dnnl_nhwc));
  DN(dnnl_memory_desc_init_by_tag(&wmd, 4, wd, dnnl_f32, dnnl_hwio));
  DN(dnnl_memory_desc_init_by_tag(&wany, 4, wd, dnnl_f32, dnnl_format_tag_any));
  DN(dnnl_memory_desc_init_by_tag(&dmd, 4, dd, dnnl_f32, dnnl_nhwc));
  DN(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &smd, &wany, NULL, &dmd, st, pl, pr));
  DN(dnnl_primitive_desc_create(&fpd, &fd, NULL, dn_eng, NULL));
  if (kind == 0) {
    pd = fpd;
    fpd = NULL;
  } else if (kind == 1) {
    DN(dnnl_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &smd, &wany, &dmd, st, pl, pr));
    DN(dnnl_primitive_desc_create(&pd, &bd, NULL, dn_eng, fpd));
  } else {
    DN(dnnl_convolution_backward_weights_desc_init(&bd, dnnl_convolution_direct, &smd, &wany, NULL, &dmd, st, pl, pr));
    DN(dnnl_primitive_desc_create(&pd, &bd, NULL, dn_eng, fpd));
  }
  const dnnl_memory_desc_t *pw = dnnl_primitive_desc_query_md(pd, kind == 2 ? dnnl_query_diff_weights_md : dnnl_query_weights_md, 0);
  DN(dnnl_primitive_create(&p, pd));
  DN(dnnl_memory_create(&wm, pw, dn_eng, DNNL_MEMORY_ALLOCATE));
  if (kind == 0) { /* a = x, b = w, out = y */
    if (dn_reorder(&wmd, b, pw, wm)) goto done;
    DN(dnnl_memory_create(&sm, &smd, dn_eng, a));
    DN(dnnl_memory_create(&dm, &dmd, dn_eng, out));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, sm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, dm}};
    DN(dnnl_primitive_execute(p, dn_strm, 3, args));
  } else if (kind == 1) { /* a = dy, b = w, out = dx */
    if (dn_reorder(&wmd, b, pw, wm)) goto done;
    DN(dnnl_memory_create(&sm, &smd, dn_eng, out));
    DN(dnnl_memory_create(&dm, &dmd, dn_eng, a));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, dm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DIFF_SRC, sm}};
    DN(dnnl_primitive_execute(p, dn_strm, 3, args));
  } else { /* a = x, b = dy, out = dw */
    DN(dnnl_memory_create(&sm, &smd, dn_eng, a));
    DN(dnnl_memory_create(&dm, &dmd, dn_eng, b));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, sm}, {DNNL_ARG_DIFF_DST, dm}, {DNNL_ARG_DIFF_WEIGHTS, wm}};
    DN(dnnl_primitive_execute(p, dn_strm, 3, args));
    DN(dnnl_stream_wait(dn_strm));
    void *wbuf = NULL;
    DN(dnnl_memory_get_data_handle(wm, &wbuf));
    dnnl_memory_t um = NULL;
    DN(dnnl_memory_create(&um, &wmd, dn_eng, out));
    int r = dn_reorder(pw, wbuf, &wmd, um);
    dnnl_memory_destroy(um);
    if (r) goto done;
  }
  DN(dnnl_stream_wait(dn_strm));
  rc = 0;
done:
  if (p) dnnl_primitive_destroy(p);
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (fpd) dnnl_primitive_desc_destroy(fpd);
  if (sm) dnnl_memory_destroy(sm);
  if (dm) dnnl_memory_destroy(dm);
  if (wm) dnnl_memory_destroy(wm);
  return rc;
}
#endif

static int read_conv(napi_env env, napi_value *argv, conv_t *c) {
  int64_t *f = &c->B;
  for (int i = 0; i < 12; i++) f[i] = get_i(env, argv[i]);
  return c->B > 0 && c->H > 0 && c->W > 0 && c->C > 0 && c->kh > 0 && c->kw > 0 && c->O > 0 && c->s > 0 && c->Ho > 0 && c->Wo > 0;
}

/* rows [r0, r1) of the patch matrix [B·Ho·Wo, kh·kw·C] into col. */
static void im2col(const conv_t *c, const float *x, int64_t r0, int64_t r1, float *col) {
  const int64_t KC = c->kh * c->kw * c->C, C = c->C;
  for (int64_t r = r0; r < r1; r++) {
    int64_t b = r / (c->Ho * c->Wo), rem = r % (c->Ho * c->Wo), ho = rem / c->Wo, wo = rem % c->Wo;
    float *dst = col + (r - r0) * KC;
    for (int64_t i = 0; i < c->kh; i++) {
      int64_t h = ho * c->s + i - c->pt;
      if (h < 0 || h >= c->H) { memset(dst, 0, sizeof(float) * c->kw * C); dst += c->kw * C; continue; }
      for (int64_t j = 0; j < c->kw; j++, dst += C) {
        int64_t w = wo * c->s + j - c->pl;
        if (w < 0 || w >= c->W) memset(dst, 0, sizeof(float) * C);
        else memcpy(dst, x + ((b * c->H + h) * c->W + w) * C, sizeof(float) * C);
      }
    }
  }
}

/* dx += col2im(rows [r0, r1) of dcol). */
static void col2im(const conv_t *c, const float *dcol, int64_t r0, int64_t r1, float *dx) {
  const int64_t KC = c->kh * c->kw * c->C, C = c->C;
  for (int64_t r = r0; r < r1; r++) {
    int64_t b = r / (c->Ho * c->Wo), rem = r % (c->Ho * c->Wo), ho = rem / c->Wo, wo = rem % c->Wo;
    const float *src = dcol + (r - r0) * KC;
    for (int64_t i = 0; i < c->kh; i++) {
      int64_t h = ho * c->s + i - c->pt;
      if (h < 0 || h >= c->H) { src += c->kw * C; continue; }
      for (int64_t j = 0; j < c->kw; j++, src += C) {
        int64_t w = wo * c->s + j - c->pl;
        if (w < 0 || w >= c->W) continue;
        float *d = dx + ((b * c->H + h) * c->W + w) * C;
        for (int64_t k = 0; k < C; k++) d[k] += src[k];
      }
    }
  }
}

/* A 1×1 stride-1 unpadded convolution is a plain GEMM on x itself. */
static int pointwise(const conv_t *c) {
  return c->kh == 1 && c->kw == 1 && c->s == 1 && c->pt == 0 && c->pl == 0 && c->Ho == c->H && c->Wo == c->W;
}

/* rows per block: the patch block stays near 1 M floats, at least 64 rows */
static int64_t block_rows(const conv_t *c) {
  int64_t KC = c->kh * c->kw * c->C, r = (1 << 20) / KC;
  return r < 64 ? 64 : r;
}

#define CONV_ARGS(n, what)                                                                                            \
  ARGS(n);                                                                                                            \
  conv_t c;                                                                                                           \
  if (!read_conv(env, argv, &c)) { napi_throw_range_error(env, NULL, "ifsq_native: " what ": bad convolution geometry"); return NULL; } \
  const int64_t M = c.B * c.Ho * c.Wo, KC = c.kh * c.kw * c.C;

/* conv2d(B, H, W, C, kh, kw, O, s, pt, pl, Ho, Wo, x, w, y) */
static napi_value conv2d(napi_env env, napi_callback_info info) {
  CONV_ARGS(15, "conv2d");
  F32(12, x, c.B * c.H * c.W * c.C);
  F32(13, w, KC * c.O);
  F32(14, y, M * c.O);
#ifdef IFSQ_DNNL
  if (dn_conv(0, &c, x, w, y) == 0) return NULL;
#endif
  if (pointwise(&c)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)c.O, (int)c.C, 1.0f, x, (int)c.C, w, (int)c.O, 0.0f, y, (int)c.O);
    return NULL;
  }
  int64_t R = block_rows(&c);
  float *col = malloc(sizeof(float) * R * KC);
  if (!col) { napi_throw_error(env, NULL, "ifsq_native: conv2d: out of memory for the patch buffer"); return NULL; }
  for (int64_t r0 = 0; r0 < M; r0 += R) {
    int64_t r1 = r0 + R < M ? r0 + R : M;
    im2col(&c, x, r0, r1, col);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(r1 - r0), (int)c.O, (int)KC, 1.0f, col, (int)KC, w, (int)c.O, 0.0f,
                y + r0 * c.O, (int)c.O);
  }
  free(col);
  return NULL;
}

/* convDx(B, H, W, C, kh, kw, O, s, pt, pl, Ho, Wo, dy, w, dx) */
static napi_value conv_dx(napi_env env, napi_callback_info info) {
  CONV_ARGS(15, "convDx");
  F32(12, dy, M * c.O);
  F32(13, w, KC * c.O);
  F32(14, dx, c.B * c.H * c.W * c.C);
#ifdef IFSQ_DNNL
  if (dn_conv(1, &c, dy, w, dx) == 0) return NULL;
#endif
  if (pointwise(&c)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)c.C, (int)c.O, 1.0f, dy, (int)c.O, w, (int)c.O, 0.0f, dx, (int)c.C);
    return NULL;
  }
  memset(dx, 0, sizeof(float) * c.B * c.H * c.W * c.C);
  int64_t R = block_rows(&c);
  float *col = malloc(sizeof(float) * R * KC);
  if (!col) { napi_throw_error(env, NULL, "ifsq_native: convDx: out of memory for the patch buffer"); return NULL; }
  for (int64_t r0 = 0; r0 < M; r0 += R) {
    int64_t r1 = r0 + R < M ? r0 + R : M;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(r1 - r0), (int)KC, (int)c.O, 1.0f, dy + r0 * c.O, (int)c.O, w, (int)c.O, 0.0f,
                col, (int)KC);
    col2im(&c, col, r0, r1, dx);
  }
  free(col);
  return NULL;
}

/* convDw(B, H, W, C, kh, kw, O, s, pt, pl, Ho, Wo, x, dy, dw) */
static napi_value conv_dw(napi_env env, napi_callback_info info) {
  CONV_ARGS(15, "convDw");
  F32(12, x, c.B * c.H * c.W * c.C);
  F32(13, dy, M * c.O);
  F32(14, dw, KC * c.O);
#ifdef IFSQ_DNNL
  if (dn_conv(2, &c, x, dy, dw) == 0) return NULL;
#endif
  if (pointwise(&c)) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)c.C, (int)c.O, (int)M, 1.0f, x, (int)c.C, dy, (int)c.O, 0.0f, dw, (int)c.O);
    return NULL;
  }
  int64_t R = block_rows(&c);
  float *col = malloc(sizeof(float) * R * KC);
  if (!col) { napi_throw_error(env, NULL, "ifsq_native: convDw: out of memory for the patch buffer"); return NULL; }
  for (int64_t r0 = 0; r0 < M; r0 += R) {
    int64_t r1 = r0 + R < M ? r0 + R : M;
    im2col(&c, x, r0, r1, col);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)KC, (int)c.O, (int)(r1 - r0), 1.0f, col, (int)KC, dy + r0 * c.O, (int)c.O,
                r0 == 0 ? 0.0f : 1.0f, dw, (int)c.O);
  }
  free(col);
  return NULL;
}

/* reduce(op, outer, mid, inner, x, out): out[o, i] = op_m x[o, m, i], op 0 = sum, 1 = max (a contiguous block of axes). */
static napi_value reduce(napi_env env, napi_callback_info info) {
  ARGS(6);
  int op = (int)get_i(env, argv[0]);
  int64_t nO = get_i(env, argv[1]), nM = get_i(env, argv[2]), nI = get_i(env, argv[3]);
  F32(4, x, nO * nM * nI);
  F32(5, out, nO * nI);
  if (nM <= 0) { napi_throw_range_error(env, NULL, "ifsq_native: reduce over an empty axis"); return NULL; }
  for (int64_t o = 0; o < nO; o++) {
    const float *src = x + o * nM * nI;
    float *dst = out + o * nI;
    if (nI == 1) { /* a row: 16 independent accumulators (vectorised) */
      float acc[16];
      int64_t m = 0;
      for (int k = 0; k < 16; k++) acc[k] = op ? src[0] : 0.0f;
      for (; m + 16 <= nM; m += 16)
        for (int k = 0; k < 16; k++) acc[k] = op ? (src[m + k] > acc[k] ? src[m + k] : acc[k]) : acc[k] + src[m + k];
      float r = acc[0];
      for (int k = 1; k < 16; k++) r = op ? (acc[k] > r ? acc[k] : r) : r + acc[k];
      for (; m < nM; m++) r = op ? (src[m] > r ? src[m] : r) : r + src[m];
      dst[0] = r;
      continue;
    }
    memcpy(dst, src, sizeof(float) * nI);
    for (int64_t m = 1; m < nM; m++) {
      const float *row = src + m * nI;
      if (op) for (int64_t i = 0; i < nI; i++) dst[i] = row[i] > dst[i] ? row[i] : dst[i];
      else for (int64_t i = 0; i < nI; i++) dst[i] += row[i];
    }
  }
  return NULL;
}

/*
 * binary(op, rank, outShape[], aStrides[], bStrides[], a, b, out): out = a op b with broadcasting (stride 0 along a
 * broadcast axis), op 0 add, 1 sub, 2 mul, 3 div; rank ≤ 8, row-major, the last axis innermost.
 */
static void binary_rec(int op, int d, int rank, const int64_t *shape, const int64_t *sa, const int64_t *sb, const float *a, const float *b, float **out) {
  int64_t n = shape[d];
  if (d == rank - 1) {
    float *o = *out;
    int64_t ia = sa[d], ib = sb[d];
    if (ia == 1 && ib == 1) {
      if (op == 0) for (int64_t i = 0; i < n; i++) o[i] = a[i] + b[i];
      else if (op == 1) for (int64_t i = 0; i < n; i++) o[i] = a[i] - b[i];
      else if (op == 2) for (int64_t i = 0; i < n; i++) o[i] = a[i] * b[i];
      else for (int64_t i = 0; i < n; i++) o[i] = a[i] / b[i];
    } else if (ia == 1) {
      float v = b[0];
      if (op == 0) for (int64_t i = 0; i < n; i++) o[i] = a[i] + v;
      else if (op == 1) for (int64_t i = 0; i < n; i++) o[i] = a[i] - v;
      else if (op == 2) for (int64_t i = 0; i < n; i++) o[i] = a[i] * v;
      else for (int64_t i = 0; i < n; i++) o[i] = a[i] / v;
    } else if (ib == 1) {
      float v = a[0];
      if (op == 0) for (int64_t i = 0; i < n; i++) o[i] = v + b[i];
      else if (op == 1) for (int64_t i = 0; i < n; i++) o[i] = v - b[i];
      else if (op == 2) for (int64_t i = 0; i < n; i++) o[i] = v * b[i];
      else for (int64_t i = 0; i < n; i++) o[i] = v / b[i];
    } else {
      float va = a[0], vb = b[0], r = op == 0 ? va + vb : op == 1 ? va - vb : op == 2 ? va * vb : va / vb;
      for (int64_t i = 0; i < n; i++) o[i] = r;
    }
    *out += n;
    return;
  }
  for (int64_t i = 0; i < n; i++) binary_rec(op, d + 1, rank, shape, sa, sb, a + i * sa[d], b + i * sb[d], out);
}

static napi_value binary(napi_env env, napi_callback_info info) {
  ARGS(8);
  int op = (int)get_i(env, argv[0]), rank = (int)get_i(env, argv[1]);
  if (rank < 1 || rank > 8) { napi_throw_range_error(env, NULL, "ifsq_native: binary: rank must be 1..8"); return NULL; }
  int64_t shape[8], sa[8], sb[8], n = 1, na = 1, nb = 1;
  for (int k = 0; k < 3; k++) {
    int64_t *dst = k == 0 ? shape : k == 1 ? sa : sb;
    for (int d = 0; d < rank; d++) {
      napi_value e;
      CHECK(napi_get_element(env, argv[2 + k], (uint32_t)d, &e));
      dst[d] = get_i(env, e);
    }
  }
  for (int d = 0; d < rank; d++) {
    n *= shape[d];
    na += (shape[d] - 1) * sa[d];
    nb += (shape[d] - 1) * sb[d];
  }
  F32(5, a, na);
  F32(6, b, nb);
  F32(7, out, n);
  if (n == 0) return NULL;
  float *o = out;
  binary_rec(op, 0, rank, shape, sa, sb, a, b, &o);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, get_info, NULL, NULL, NULL, napi_default, NULL},
      {"gemm", NULL, gemm, NULL, NULL, NULL, napi_default, NULL},
      {"conv2d", NULL, conv2d, NULL, NULL, NULL, napi_default, NULL},
      {"convDx", NULL, conv_dx, NULL, NULL, NULL, napi_default, NULL},
      {"convDw", NULL, conv_dw, NULL, NULL, NULL, napi_default, NULL},
      {"reduce", NULL, reduce, NULL, NULL, NULL, napi_default, NULL},
      {"binary", NULL, binary, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
