// Times ONNX Runtime for Node on a model with one intra-op thread, the peer
// effc's compiled artifacts are compared against (effc bench --ort).
//
//   node bench/ort-bench.mjs MODEL.onnx RUNS INPUT_NAME=DIMS[,...] ...
//
// Inputs are filled with a fixed pseudo-random sequence. Prints one JSON
// line: {"median_us":..,"min_us":..,"runs":..,"ort":"<version>"}.
import * as ort from 'onnxruntime-node';
import { createRequire } from 'node:module';

const [model, runsArg, ...specs] = process.argv.slice(2);
if (!model || !runsArg) {
  console.error('usage: node ort-bench.mjs MODEL.onnx RUNS NAME=D0,D1,... [...]');
  process.exit(2);
}
const runs = Number(runsArg);
const session = await ort.InferenceSession.create(model, {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
});
const feeds = {};
let seed = 12345;
const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 - 0.5; };
for (const spec of specs) {
  const [name, dims] = spec.split('=');
  const shape = dims.split(',').map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rand();
  feeds[name] = new ort.Tensor('float32', data, shape);
}
for (let i = 0; i < 3; i++) await session.run(feeds); // warm up
const times = [];
for (let i = 0; i < runs; i++) {
  const t0 = process.hrtime.bigint();
  await session.run(feeds);
  times.push(Number(process.hrtime.bigint() - t0) / 1000);
}
times.sort((a, b) => a - b);
const version = createRequire(import.meta.url)('onnxruntime-node/package.json').version;
console.log(JSON.stringify({ median_us: times[Math.floor(times.length / 2)], min_us: times[0], runs, ort: version }));
