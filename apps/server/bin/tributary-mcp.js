#!/usr/bin/env node
// MCP over stdio for desktop clients: a thin client of a Tributary server (TRIBUTARY_URL, TRIBUTARY_API_KEY).
// The server is TypeScript run through tsx, as `npm start` does; register it, then start the bridge.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../src/mcp/stdio-client.ts')
await main()
