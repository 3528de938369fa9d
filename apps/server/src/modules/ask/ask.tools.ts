import { AskRequest, AskResult } from '@tributary/contract'
import { z } from 'zod'

import { defineTool } from '../../mcp/tool.js'
import type { AskService } from './ask.service.js'

export function askTools(ask: AskService) {
  return [
    defineTool({
      name: 'ask',
      title: 'Ask a question',
      description:
        'Answers a question in plain language with the same pipeline as the API: finds the relevant tables and ' +
        'golden SQL, writes SQL, checks and runs it read-only, and returns the SQL, the rows and a short answer, or ' +
        'says why it could not answer. Pass `thread_id` from an earlier answer to ask a follow-up.',
      input: z.strictObject({
        question: AskRequest.shape.question,
        thread_id: AskRequest.shape.thread_id,
        execute: AskRequest.shape.execute,
        limit: AskRequest.shape.limit,
      }),
      output: AskResult,
      needs: { use: 'ask' },
      run: ({ ctx, projectId, signal }, request) => ask.ask(ctx, projectId, request, signal),
    }),
  ]
}
