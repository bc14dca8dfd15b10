/* example.c: the smallest program that runs an effc-compiled model, without
 * malloc. Copy it next to model.h and libmodel.a (or model.o) of a model
 * compiled with the default name ("effc compile model.onnx -o out"; for
 * --name foo replace effc_model_/EFFC_MODEL_ by effc_foo_/EFFC_FOO_).
 *
 * It fills every input with a ramp (f32: (k - n/2) / 2, integers: k, other
 * dtypes: zero bytes), runs the model once and prints up to 8 values of each
 * output, e.g. "y f32 (6 elements): 1 1 1 1 1.5 2". example.mjs prints the
 * same lines for model.wasm.
 *
 * Build and run:
 *   x86_64: cc -std=c11 -O2 -o example example.c libmodel.a -lm && ./example
 *   arm64:  aarch64-linux-gnu-gcc -std=c11 -O2 -o example example.c libmodel.a -lm
 *           qemu-aarch64 -L /usr/aarch64-linux-gnu ./example
 *   wasm32: there is no C host; run model.wasm with example.mjs instead:
 *           effc compile model.onnx --target wasm32 --emit wasm,js -o out
 *           cp example.mjs out/ && node out/example.mjs
 */
#include <stdio.h>
#include <string.h>

#include "model.h"

/* All memory is static: the arena and one pool for inputs and outputs. */
static _Alignas(EFFC_MODEL_ARENA_ALIGN) unsigned char arena[EFFC_MODEL_ARENA_SIZE_ROUNDED];
static _Alignas(EFFC_MODEL_ARENA_ALIGN) unsigned char pool[EFFC_MODEL_IO_POOL_SIZE];

static const char *const in_dtypes[] = EFFC_MODEL_INPUT_DTYPES_LIST;
static const size_t in_bytes[] = EFFC_MODEL_INPUT_BYTES_LIST;
static const size_t in_numel[] = EFFC_MODEL_INPUT_NUMELS_LIST;
static const char *const out_names[] = EFFC_MODEL_OUTPUT_NAMES_LIST;
static const char *const out_dtypes[] = EFFC_MODEL_OUTPUT_DTYPES_LIST;
static const size_t out_bytes[] = EFFC_MODEL_OUTPUT_BYTES_LIST;
static const size_t out_numel[] = EFFC_MODEL_OUTPUT_NUMELS_LIST;

#define ROUND(n) (((n) + EFFC_MODEL_ARENA_ALIGN - 1) / EFFC_MODEL_ARENA_ALIGN * EFFC_MODEL_ARENA_ALIGN)

static void fill(void *buf, const char *dtype, size_t n, size_t bytes) {
  memset(buf, 0, bytes);
  for (size_t k = 0; k < n; k++) {
    if (strcmp(dtype, "f32") == 0) ((float *)buf)[k] = ((float)k - (float)(n / 2)) / 2;
    else if (strcmp(dtype, "i32") == 0) ((int32_t *)buf)[k] = (int32_t)k;
    else if (strcmp(dtype, "i64") == 0) ((int64_t *)buf)[k] = (int64_t)k;
  }
}

static void print(int i, const void *buf) {
  printf("%s %s (%zu elements):", out_names[i], out_dtypes[i], out_numel[i]);
  for (size_t k = 0; k < out_numel[i] && k < 8; k++) {
    if (strcmp(out_dtypes[i], "f32") == 0) printf(" %g", ((const float *)buf)[k]);
    else if (strcmp(out_dtypes[i], "i32") == 0) printf(" %ld", (long)((const int32_t *)buf)[k]);
    else if (strcmp(out_dtypes[i], "i64") == 0) printf(" %lld", (long long)((const int64_t *)buf)[k]);
    else printf(" 0x%02x", ((const unsigned char *)buf)[k]);
  }
  printf("\n");
}

int main(void) {
  if (effc_model_arena_size() > sizeof arena) {
    fprintf(stderr, "model.h does not match the linked model: arena %zu > %zu bytes\n",
            effc_model_arena_size(), sizeof arena);
    return 1;
  }
  const void *inputs[EFFC_MODEL_NUM_INPUTS + 1];
  void *outputs[EFFC_MODEL_NUM_OUTPUTS + 1];
  size_t off = 0;
  for (int i = 0; i < EFFC_MODEL_NUM_INPUTS; i++) {
    fill(pool + off, in_dtypes[i], in_numel[i], in_bytes[i]);
    inputs[i] = pool + off;
    off += ROUND(in_bytes[i]);
  }
  for (int i = 0; i < EFFC_MODEL_NUM_OUTPUTS; i++) {
    outputs[i] = pool + off;
    off += ROUND(out_bytes[i]);
  }
  int rc = effc_model_run(arena, inputs, outputs);
  if (rc != 0) {
    fprintf(stderr, "effc_model_run failed with %d\n", rc);
    return 1;
  }
  for (int i = 0; i < EFFC_MODEL_NUM_OUTPUTS; i++) print(i, outputs[i]);
  return 0;
}
