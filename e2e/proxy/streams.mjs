// Starts N streaming generations at once through the proxy and checks that
// each arrives in several pieces and ends with done; prints a summary.
//
//   node streams.mjs URL HOST KEY N
const [url, host, key, n] = process.argv.slice(2);
const t0 = performance.now();

async function stream(i) {
  const res = await fetch(`${url}/api/generate`, {
    method: 'POST',
    headers: { Host: host, Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'm', prompt: `Once upon a time ${i}`, options: { num_predict: 200, seed: i } }),
  });
  if (res.status !== 200) throw new Error(`stream ${i}: status ${res.status}: ${await res.text()}`);
  let pieces = 0, text = '', first = 0;
  for await (const chunk of res.body) {
    if (pieces++ === 0) first = performance.now() - t0;
    text += Buffer.from(chunk).toString();
  }
  const lines = text.trim().split('\n').map((l) => JSON.parse(l));
  if (!lines.at(-1).done) throw new Error(`stream ${i} did not end with done`);
  return { pieces, lines: lines.length, first, last: performance.now() - t0 };
}

try {
  const all = await Promise.all(Array.from({ length: Number(n) }, (_, i) => stream(i)));
  const few = all.filter((s) => s.pieces < 2 && s.lines > 2);
  if (few.length > 0) throw new Error(`${few.length} streams arrived in one piece (buffered?)`);
  // The streams overlapped: each started before the last one ended.
  const lastEnd = Math.min(...all.map((s) => s.last));
  const overlapping = all.filter((s) => s.first < lastEnd).length;
  console.log(JSON.stringify({ streams: all.length, overlapping, pieces: all.map((s) => s.pieces) }));
} catch (e) {
  console.log(String(e));
  process.exit(1);
}
