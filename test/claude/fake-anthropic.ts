// A small stand-in for the Anthropic Messages API, so the real Claude Code CLI can run end to end with no
// network and no real key. It speaks POST /v1/messages in both forms Claude Code uses: a plain JSON reply and
// a server-sent event stream (message_start, content_block_start/delta/stop, message_delta, message_stop),
// and answers /v1/messages/count_tokens. Everything else gets a 404 in the API's error shape.
//
// The agent's conversation follows a script: the n-th reply of a conversation is `script[n]`, where n is the
// number of tool results the request already carries; or a function of the request picks the reply. Requests that offer no tools (Claude Code's side calls:
// titles, summaries, quota checks) get a short text reply and do not advance the script.
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export type Block = { type: 'text'; text: string } | { type: 'tool_use'; name: string; input: Record<string, unknown> }

/** The parts of a Messages API request that the stand-in and the tests read; JSON that is not an object is `{}`. */
export interface MessagesBody {
  model?: string
  stream?: boolean
  messages?: Array<{ role?: string; content?: unknown }>
  tools?: Array<{ name?: string }>
  metadata?: { user_id?: string }
}

export interface RecordedRequest {
  method: string
  path: string
  headers: http.IncomingHttpHeaders
  body: MessagesBody
}

export interface FakeAnthropic {
  /** http://host:port, for ANTHROPIC_BASE_URL */
  url: string
  requests: RecordedRequest[]
  /** the requests that carried tools: the agent's own turns */
  agentRequests(): RecordedRequest[]
  close(): Promise<void>
}

const id = (prefix: string) => `${prefix}_01${randomBytes(11).toString('hex')}`

function toolResults(body: MessagesBody): number {
  let count = 0
  for (const message of body.messages ?? []) {
    if (message.role !== 'user' || !Array.isArray(message.content)) continue
    for (const part of message.content) if ((part as { type?: string } | null)?.type === 'tool_result') count++
  }
  return count
}

/** The agent's replies: one per step of the conversation, or a function of the request. */
export type Script = Block[][] | ((body: MessagesBody) => Block[])

function reply(body: MessagesBody, script: Script): Block[] {
  const hasTools = Array.isArray(body.tools) && body.tools.length > 0
  if (!hasTools) return [{ type: 'text', text: 'realm test' }]
  if (typeof script === 'function') return script(body)
  return script[Math.min(toolResults(body), script.length - 1)]
}

/** The text the user last typed in a request (the newest user message that is not a tool result). */
export function lastPrompt(body: MessagesBody): string {
  for (const message of [...(body.messages ?? [])].reverse()) {
    if (message.role !== 'user') continue
    if (typeof message.content === 'string') return message.content
    if (!Array.isArray(message.content)) continue
    const parts = message.content as Array<{ type?: string; text?: string } | null>
    if (parts.some((part) => part?.type === 'tool_result')) continue
    // Claude Code adds reminders of its own in <system-reminder> blocks beside what the user typed.
    const typed = parts.filter((part) => part?.type === 'text' && !part.text?.startsWith('<system-reminder>'))
    return typed.map((part) => part?.text ?? '').join('\n')
  }
  return ''
}

function message(model: string, blocks: Block[]) {
  const content = blocks.map((b) =>
    b.type === 'tool_use' ? { type: 'tool_use' as const, id: id('toolu'), name: b.name, input: b.input } : b,
  )
  const stopReason = blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn'
  return {
    id: id('msg'),
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  }
}

/** The event sequence of the streaming Messages API, with text and tool input split into several deltas. */
export function streamEvents(full: ReturnType<typeof message>): Array<[string, unknown]> {
  const events: Array<[string, unknown]> = []
  events.push([
    'message_start',
    { type: 'message_start', message: { ...full, content: [], stop_reason: null, usage: { ...full.usage, output_tokens: 1 } } },
  ])
  events.push(['ping', { type: 'ping' }])
  full.content.forEach((block, index) => {
    if (block.type === 'text') {
      events.push(['content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }])
      for (const piece of chunks(block.text)) {
        events.push(['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } }])
      }
    } else {
      events.push([
        'content_block_start',
        { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } },
      ])
      for (const piece of chunks(JSON.stringify(block.input))) {
        events.push([
          'content_block_delta',
          { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: piece } },
        ])
      }
    }
    events.push(['content_block_stop', { type: 'content_block_stop', index }])
  })
  events.push([
    'message_delta',
    {
      type: 'message_delta',
      delta: { stop_reason: full.stop_reason, stop_sequence: null },
      usage: { output_tokens: full.usage.output_tokens },
    },
  ])
  events.push(['message_stop', { type: 'message_stop' }])
  return events
}

function chunks(text: string, size = 16): string[] {
  const out: string[] = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out.length ? out : ['']
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = ''
    req.setEncoding('utf8')
    req.on('data', (chunk) => (data += chunk))
    req.on('end', () => resolve(data))
    req.on('error', reject)
  })
}

/** Starts the server on a free port; the test's containers share the host's network to reach it. */
export async function startFakeAnthropic(script: Script, host = '127.0.0.1'): Promise<FakeAnthropic> {
  const requests: RecordedRequest[] = []
  const server = http.createServer(async (req, res) => {
    const text = await readBody(req)
    let body: MessagesBody = {}
    try {
      const parsed: unknown = text ? JSON.parse(text) : undefined
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as MessagesBody
    } catch {
      // not JSON: recorded as an empty body
    }
    const path = (req.url ?? '/').split('?')[0]
    requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body })
    const headers = { 'request-id': id('req'), 'anthropic-organization-id': 'realm-test' }

    if (req.method === 'POST' && path === '/v1/messages/count_tokens') {
      res.writeHead(200, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify({ input_tokens: 10 }))
      return
    }
    if (req.method !== 'POST' || path !== '/v1/messages') {
      res
        .writeHead(404, { ...headers, 'content-type': 'application/json' })
        .end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: `${req.method} ${path} is not served here` } }))
      return
    }
    const full = message(body?.model ?? 'claude-test', reply(body, script))
    if (!body?.stream) {
      res.writeHead(200, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(full))
      return
    }
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
    for (const [event, data] of streamEvents(full)) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    agentRequests: () => requests.filter((r) => r.path === '/v1/messages' && Array.isArray(r.body?.tools) && r.body.tools.length > 0),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
