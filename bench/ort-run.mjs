// Runs ONNX models in ONNX Runtime for Node with one thread, for effc's Go
// package internal/ortrun (the check that what effc writes, ORT runs).
//
//   node bench/ort-run.mjs < jobs
//
// Reads one JSON job per stdin line, {"id":N,"model":"/abs/model.onnx","dir":"/abs/dir"},
// runs it, and answers with one stdout line {"id":N,"ok":true} or
// {"id":N,"error":"..."}. Jobs run one at a time, in order.
//
// dir/inputs.json and dir/outputs.json list tensors in the same format:
//
//   [{"name":"x","type":"float32","dims":[1,3],"file":"in0.bin"},
//    {"name":"s","type":"string","dims":[2],"strings":["a","b"]}]
//
// "type" is an onnxruntime-common tensor type (float32, float64, float16,
// int8 ... uint64, bool); "file" (relative to dir) holds the elements as raw
// little-endian bytes (bool one byte each, float16 as binary16 bits); string
// tensors carry their elements inline. The script writes every output in the
// session's output order, named out0.bin, out1.bin, ...
import * as ort from 'onnxruntime-node';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// The typed array behind each tensor type (onnxruntime-common's DataTypeMap).
const arrays = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

function readTensor(dir, spec) {
  if (spec.type === 'string') {
    return new ort.Tensor('string', spec.strings ?? [], spec.dims);
  }
  const Typed = arrays[spec.type];
  if (!Typed) {
    throw new Error(`input ${JSON.stringify(spec.name)}: unsupported tensor type ${JSON.stringify(spec.type)}`);
  }
  const raw = readFileSync(join(dir, spec.file));
  if (raw.length % Typed.BYTES_PER_ELEMENT !== 0) {
    throw new Error(`input ${JSON.stringify(spec.name)}: ${raw.length} bytes is not a whole number of ${spec.type} elements`);
  }
  // Copy into a fresh (aligned) ArrayBuffer: a Buffer may start at any offset.
  const buf = new ArrayBuffer(raw.length);
  new Uint8Array(buf).set(raw);
  return new ort.Tensor(spec.type, new Typed(buf), spec.dims);
}

function writeTensor(dir, name, index, t) {
  const spec = { name, type: t.type, dims: Array.from(t.dims) };
  if (t.type === 'string') {
    spec.strings = Array.from(t.data);
    return spec;
  }
  if (!arrays[t.type]) {
    throw new Error(`output ${JSON.stringify(name)}: unsupported tensor type ${JSON.stringify(t.type)}`);
  }
  let data = t.data;
  if (t.type === 'bool' && !(data instanceof Uint8Array)) {
    data = Uint8Array.from(data, (v) => (v ? 1 : 0));
  }
  spec.file = `out${index}.bin`;
  writeFileSync(join(dir, spec.file), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  return spec;
}

async function runJob(job) {
  const specs = JSON.parse(readFileSync(join(job.dir, 'inputs.json'), 'utf8'));
  const feeds = {};
  for (const spec of specs) {
    feeds[spec.name] = readTensor(job.dir, spec);
  }
  const session = await ort.InferenceSession.create(job.model, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3, // errors only: warnings would flood the caller's stderr
  });
  try {
    const results = await session.run(feeds);
    const out = session.outputNames.map((name, i) => writeTensor(job.dir, name, i, results[name]));
    writeFileSync(join(job.dir, 'outputs.json'), JSON.stringify(out));
  } finally {
    await session.release();
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (line.trim() === '') continue;
  let reply;
  let id = null;
  try {
    const job = JSON.parse(line);
    id = job.id;
    await runJob(job);
    reply = { id, ok: true };
  } catch (err) {
    reply = { id, error: String(err && err.message ? err.message : err) };
  }
  process.stdout.write(JSON.stringify(reply) + '\n');
}
