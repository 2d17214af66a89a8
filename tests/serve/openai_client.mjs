// The official OpenAI Node client (the `openai` package, tests/serve/client/) against a running
// `vlprompt serve`: if that client works unchanged, so do the tools built on it.
//
//   node tests/serve/openai_client.mjs BASE_URL API_KEY DELTA EXPECTED_JSON
//
// EXPECTED_JSON holds what `vlprompt lm generate --json` printed for each model served alone:
//   {"prompt": "...", "max_tokens": 24, "texts": {"base": "...", "DELTA": "...", ...}}
// Prints one PASS/FAIL line per check and exits 1 when any failed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// The package lives in tests/serve/client/node_modules, not beside this file.
const require = createRequire(new URL('./client/package.json', import.meta.url));
const { default: OpenAI } = await import(require.resolve('openai'));

const [base, apiKey, delta, expectedFile] = process.argv.slice(2);
if (!base || !apiKey || !delta || !expectedFile) {
  console.error('usage: node openai_client.mjs BASE_URL API_KEY DELTA EXPECTED_JSON');
  process.exit(2);
}
const expected = JSON.parse(readFileSync(expectedFile, 'utf8'));
const { prompt, max_tokens: maxTokens, texts } = expected;
assert.ok(typeof texts[delta] === 'string', `${expectedFile} holds no text for '${delta}'`);

// Retries would hide a 429 or 5xx behind a later success.
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0, timeout: 120_000 });

const failures = [];
async function check(name, body) {
  try {
    await body();
    console.log(`PASS ${name}`);
  } catch (e) {
    failures.push(name);
    // An assertion's message says what differed; anything else needs its stack.
    console.log(`FAIL ${name}: ${e instanceof assert.AssertionError ? e.message : e?.stack ?? e}`);
  }
}

// The error a call must throw, for its fields to be checked.
async function rejection(call) {
  try {
    const r = await call();
    throw new assert.AssertionError({ message: `expected an error, got ${JSON.stringify(r)}` });
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    return e;
  }
}

function greedy(model, extra = {}) {
  return client.completions.create({ model, prompt, max_tokens: maxTokens, temperature: 0, ...extra });
}

// A short string first found at about the middle of `text`, so that cutting there is visible.
function stopIn(text) {
  for (let k = Math.floor(text.length / 2); k < text.length - 1; ++k) {
    for (const n of [3, 2, 1]) {
      const s = text.slice(k, k + n);
      if (s.length === n && s.trim() !== '' && text.indexOf(s) === k) return { s, k };
    }
  }
  return null;
}

let greedyFinish = null;

await check('models.list holds base and the deltas', async () => {
  const ids = new Map();
  for await (const m of client.models.list()) ids.set(m.id, m);
  for (const name of ['base', ...Object.keys(texts)]) assert.ok(ids.has(name), `no '${name}' in ${[...ids.keys()]}`);
  const d = ids.get(delta);
  assert.equal(d.parent, 'base');
  assert.equal(d.vlprompt?.model, 'lm', JSON.stringify(d));
  assert.equal(typeof d.vlprompt?.method, 'string');
});

await check('greedy completion equals the delta served alone', async () => {
  const r = await greedy(delta);
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices.length, 1);
  const c = r.choices[0];
  assert.equal(c.text, texts[delta], 'server text vs `vlprompt lm generate`');
  assert.ok(['stop', 'length'].includes(c.finish_reason), `finish_reason ${c.finish_reason}`);
  assert.ok(r.usage.completion_tokens <= maxTokens, JSON.stringify(r.usage));
  if (c.finish_reason === 'length') assert.equal(r.usage.completion_tokens, maxTokens);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  greedyFinish = c.finish_reason;
});

await check('streamed completion concatenates to the same text', async () => {
  const stream = await greedy(delta, { stream: true });
  let text = '';
  let finish = null;
  let chunks = 0;
  for await (const chunk of stream) {
    ++chunks;
    assert.equal(chunk.choices.length, 1, JSON.stringify(chunk));
    text += chunk.choices[0].text;
    if (chunk.choices[0].finish_reason) {
      assert.equal(finish, null, 'a second finish_reason');
      finish = chunk.choices[0].finish_reason;
    }
  }
  assert.equal(text, texts[delta]);
  assert.ok(finish, `no chunk carried a finish_reason (${chunks} chunks)`);
  if (greedyFinish) assert.equal(finish, greedyFinish);
});

await check('seeded sampling repeats (temperature 0.8, seed 5)', async () => {
  const ask = (seed) => client.completions.create({ model: delta, prompt, max_tokens: maxTokens, temperature: 0.8, seed });
  const [a, b] = [await ask(5), await ask(5)];
  assert.equal(a.choices[0].text, b.choices[0].text);
  const c = await ask(6);
  assert.equal(typeof c.choices[0].text, 'string');
  console.log(`  seed 6 ${c.choices[0].text === a.choices[0].text ? 'gave the same text as' : 'differs from'} seed 5`);
});

await check('logprobs: 2 gives per-token arrays', async () => {
  const r = await greedy(delta, { logprobs: 2 });
  const c = r.choices[0];
  assert.equal(c.text, texts[delta], 'asking for logprobs changed the text');
  const lp = c.logprobs;
  assert.ok(lp, 'no logprobs');
  const n = r.usage.completion_tokens;
  assert.ok(n >= 1);
  for (const key of ['tokens', 'token_logprobs', 'top_logprobs', 'text_offset'])
    assert.equal(lp[key]?.length, n, `${key} has ${lp[key]?.length} entries for ${n} tokens`);
  lp.token_logprobs.forEach((x, i) => {
    assert.ok(Number.isFinite(x) && x <= 1e-6, `token_logprobs[${i}] = ${x}`);
    const top = Object.values(lp.top_logprobs[i]);
    // Two ids can decode to the same piece, so a row may hold one key.
    assert.ok(top.length >= 1 && top.length <= 2, `top_logprobs[${i}] = ${JSON.stringify(lp.top_logprobs[i])}`);
    // Greedy picks the most likely token: its log-probability is the row's best.
    assert.ok(Math.abs(Math.max(...top) - x) < 1e-4, `token ${i}: ${x} vs top ${JSON.stringify(lp.top_logprobs[i])}`);
  });
  for (let i = 1; i < n; ++i) assert.ok(lp.text_offset[i] >= lp.text_offset[i - 1], 'text_offset decreases');
});

await check('stop cuts the text', async () => {
  const cut = stopIn(texts[delta]);
  assert.ok(cut, `the expected text ${JSON.stringify(texts[delta])} is too short to place a stop string in`);
  const r = await greedy(delta, { stop: [cut.s, '\u0000never\u0000'] });
  assert.equal(r.choices[0].text, texts[delta].slice(0, cut.k), `stop ${JSON.stringify(cut.s)}`);
  assert.equal(r.choices[0].finish_reason, 'stop');
  const one = await greedy(delta, { stop: cut.s });
  assert.equal(one.choices[0].text, texts[delta].slice(0, cut.k), 'stop given as a string');
});

await check('unknown model: NotFoundError 404', async () => {
  const e = await rejection(() => greedy('no-such-delta'));
  assert.ok(e instanceof OpenAI.NotFoundError, `${e?.constructor?.name}: ${e}`);
  assert.equal(e.status, 404);
  assert.equal(e.code, 'model_not_found');
});

await check('temperature 5: BadRequestError 400 naming the param', async () => {
  const e = await rejection(() => client.completions.create({ model: delta, prompt, max_tokens: 4, temperature: 5 }));
  assert.ok(e instanceof OpenAI.BadRequestError, `${e?.constructor?.name}: ${e}`);
  assert.equal(e.status, 400);
  assert.equal(e.param, 'temperature', JSON.stringify(e.error));
  assert.match(e.message, /temperature/);
});

await check('wrong API key: AuthenticationError 401', async () => {
  const wrong = new OpenAI({ baseURL: `${base}/v1`, apiKey: `${apiKey}-wrong`, maxRetries: 0 });
  const e = await rejection(() => wrong.completions.create({ model: delta, prompt, max_tokens: 4, temperature: 0 }));
  assert.ok(e instanceof OpenAI.AuthenticationError, `${e?.constructor?.name}: ${e}`);
  assert.equal(e.status, 401);
  const list = await rejection(() => wrong.models.list());
  assert.ok(list instanceof OpenAI.AuthenticationError, `models.list: ${list}`);
});

await check('concurrent completions over different deltas equal their alone texts', async () => {
  // Each model twice, interleaved, so that the rows of a decoding step belong to several deltas.
  const models = Object.keys(texts);
  const order = [...models, ...models.slice().reverse()];
  const results = await Promise.all(order.map((m) => greedy(m).then((r) => [m, r.choices[0].text])));
  const wrong = results.filter(([m, t]) => t !== texts[m]);
  assert.deepEqual(wrong.map(([m, t]) => ({ model: m, got: t, alone: texts[m] })), []);
});

await check('a list of prompts gives one choice each', async () => {
  const r = await client.completions.create({ model: delta, prompt: [prompt, prompt], max_tokens: maxTokens, temperature: 0 });
  assert.deepEqual(r.choices.map((c) => [c.index, c.text]), [[0, texts[delta]], [1, texts[delta]]]);
});

if (failures.length) {
  console.log(`openai_client: ${failures.length} check(s) failed: ${failures.join('; ')}`);
  process.exit(1);
}
console.log('openai_client: all checks passed');
