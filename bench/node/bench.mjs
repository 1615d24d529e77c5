// The official openai Node SDK against the nginx that bench/run.sh starts: the peer a
// user would otherwise pick. Same requests, same canned responses as the C++ benches.
//
//   node bench.mjs whole  BASE_URL CONCURRENCY SECONDS   (whole responses)
//   node bench.mjs stream BASE_URL CONCURRENCY SECONDS CHUNKS   (1,000-chunk streams)
//
// Prints one line like the C++ benches; exits 1 if any response is wrong.
import OpenAI from 'openai';

const [mode, baseURL, concArg, secondsArg, chunksArg] = process.argv.slice(2);
const concurrency = Number(concArg ?? 64);
const seconds = Number(secondsArg ?? 5);
const chunks = Number(chunksArg ?? 1000);
const client = new OpenAI({ baseURL, apiKey: 'no-key', maxRetries: 0 });
const messages = [{ role: 'user', content: 'Say hello.' }];

let done = 0, units = 0, bad = 0;
const stopAt = performance.now() + seconds * 1000;

async function wholeWorker() {
  while (performance.now() < stopAt) {
    try {
      const r = await client.chat.completions.create({ model: 'bench-model', messages });
      if (!r.choices[0].message.content.startsWith('Hello!')) bad++;
      done++; units++;
    } catch (e) { if (!bad++) console.error(`whole: ${e}`); }
  }
}

async function streamWorker() {
  while (performance.now() < stopAt) {
    try {
      const s = await client.chat.completions.create({ model: 'bench-model', messages, stream: true });
      let n = 0;
      for await (const c of s) { n++; void c.choices[0]?.delta?.content; }
      if (n !== chunks) { if (!bad++) console.error(`stream gave ${n} chunks, not ${chunks}`); }
      done++; units += n;
    } catch (e) { if (!bad++) console.error(`stream: ${e}`); }
  }
}

const cpu0 = process.cpuUsage();
const t0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, mode === 'stream' ? streamWorker : wholeWorker));
const wall = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const cpuUs = cpu.user + cpu.system;
if (mode === 'stream')
  console.log(`node openai stream  ${done} streams of ${chunks} chunks, ${concurrency} concurrent: ` +
              `${(units / wall).toFixed(0)} chunks/s, ${(cpuUs / Math.max(units, 1)).toFixed(3)} us CPU per chunk, ${bad} bad`);
else
  console.log(`node openai chat  ${(done / wall).toFixed(0)} req/s  ${(cpuUs / Math.max(done, 1)).toFixed(2)} us CPU/req  ` +
              `${done} requests  ${bad} errors`);
process.exit(bad || !done ? 1 : 0);
