// A small OpenAI-compatible chat-completions server for the browser tests: it "coaches" by
// capturing the user's message into the first field the system prompt lists as missing, and
// writes a report when asked. Streams when the request says `stream: true`.
import { createServer } from 'node:http';

function answer(body) {
  const system = body.messages[0]?.content ?? '';
  const last = body.messages[body.messages.length - 1]?.content ?? '';
  if (system.includes('closing report')) {
    return JSON.stringify({
      summary: 'AI summary: you set a clear goal and left with a plan you can start this week.',
      insights: ['AI insight: you already have support around you.'],
      unexploredOptions: ['AI option: ask for a mentor.'],
      risks: ['AI risk: time pressure.'],
    });
  }
  const missing = system.split('Fields this step still needs')[1] ?? '';
  const field = /^- ([a-z_]+) \(/m.exec(missing)?.[1];
  const captured = field ? { [field]: last } : {};
  return JSON.stringify({ reply: `AI coach: thank you — "${last.split('\n')[0]}". What else comes to mind?`, captured });
}

export function startStub() {
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => { raw += c; });
    req.on('end', () => {
      const body = JSON.parse(raw || '{}');
      const content = answer(body);
      if (body.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (let i = 0; i < content.length; i += 6) {
          res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: content.slice(i, i + 6) } }] })}\n\n`);
        }
        res.write(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 100, completion_tokens: 20 } })}\n\n`);
        res.end('data: [DONE]\n\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        choices: [{ message: { role: 'assistant', content } }],
        usage: { prompt_tokens: 100, completion_tokens: 20 },
      }));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port }));
  });
}
