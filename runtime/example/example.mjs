// example.mjs: runs an effc-compiled model.wasm through its generated loader
// (model.mjs) and prints the same lines as example.c. Copy it next to
// model.mjs and model.wasm ("effc compile model.onnx --target wasm32 --emit
// wasm,js -o out") and run: node out/example.mjs
// In a browser, import model.mjs from a <script type="module"> the same way.
import { load } from "./model.mjs";

const model = await load();
// Fill every input with a ramp, as example.c does.
const inputs = model.inputs.map((t) => {
  const n = t.shape.reduce((a, b) => a * b, 1);
  switch (t.dtype) {
    case "f32": return Float32Array.from({ length: n }, (_, k) => (k - Math.floor(n / 2)) / 2);
    case "i32": return Int32Array.from({ length: n }, (_, k) => k);
    case "i64": return BigInt64Array.from({ length: n }, (_, k) => BigInt(k));
    default: return new Uint8Array(t.bytes);
  }
});
const outputs = model.run(inputs);
model.outputs.forEach((t, i) => {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const shown = Array.from(outputs[i].slice(0, Math.min(n, 8)), (v) =>
    ["f32", "i32", "i64"].includes(t.dtype) ? String(v) : "0x" + Number(v).toString(16).padStart(2, "0"));
  console.log(`${t.name} ${t.dtype} (${n} elements):${shown.map((s) => " " + s).join("")}`);
});
