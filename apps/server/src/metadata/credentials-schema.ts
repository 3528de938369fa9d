// The metadata tables of the credentials module (issue 14), part of `Database` in schema.ts.
import type { ColumnType, Selectable } from 'kysely'

import type { Timestamp } from './column-types.js'

export interface CredentialsTable {
  id: string
  organization_id: string
  project_id: string
  name: string
  description: string | null
  type: 'bearer' | 'basic' | 'header'
  /** Type `header`: the header that carries the secret. */
  header_name: string | null
  /** Type `basic`: the user name. */
  username: string | null
  /** Sealed with the outbound secret box; never returned. */
  secret: string
  /** Normalized host patterns (`host`, `*.domain`, each with an optional `:port`). */
  allowed_hosts: ColumnType<string[], string, string>
  secret_updated_at: Timestamp
  created_at: Timestamp
  updated_at: Timestamp
}

export interface CredentialsTables {
  credentials: CredentialsTable
}

export type CredentialRow = Selectable<CredentialsTable>
