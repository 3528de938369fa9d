import type { SourceKeys } from '../source-catalog.js'

/** The schemas and tables `introspect` lists: visible schemas, tables the user may read something of. */
const VISIBLE_SCHEMA = (alias: string) => `${alias}.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
  and ${alias}.nspname !~ '^pg_(toast_)?temp_'
  and pg_catalog.has_schema_privilege(${alias}.oid, 'USAGE')`

/**
 * Every primary and foreign key of the tables the user can see, in one round trip, their columns in key
 * order (`conkey[i]` pairs with `confkey[i]`). A foreign key whose referenced table the user cannot see is
 * left out. The copies PostgreSQL makes of a foreign key for each partition of the table it references
 * (same table, a parent constraint) are left out; those it makes on each partition of the referencing
 * table are kept, since the partitions are tables of the catalog too.
 */
export const KEYS_SQL = `
select
  c.contype as kind,
  c.conname as name,
  n.nspname as schema_name,
  t.relname as table_name,
  array(
    select a.attname::text
    from unnest(c.conkey) with ordinality k(attnum, position)
    join pg_catalog.pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum
    order by k.position
  ) as columns,
  rn.nspname as ref_schema,
  r.relname as ref_table,
  array(
    select a.attname::text
    from unnest(c.confkey) with ordinality k(attnum, position)
    join pg_catalog.pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.attnum
    order by k.position
  ) as ref_columns
from pg_catalog.pg_constraint c
join pg_catalog.pg_class t on t.oid = c.conrelid
join pg_catalog.pg_namespace n on n.oid = t.relnamespace
left join pg_catalog.pg_class r on r.oid = c.confrelid
left join pg_catalog.pg_namespace rn on rn.oid = r.relnamespace
where c.contype in ('p', 'f')
  and ${VISIBLE_SCHEMA('n')}
  and pg_catalog.has_any_column_privilege(t.oid, 'SELECT')
  and (
    c.contype = 'p'
    or (${VISIBLE_SCHEMA('rn')} and pg_catalog.has_any_column_privilege(r.oid, 'SELECT'))
  )
  and not exists (
    select 1 from pg_catalog.pg_constraint p where p.oid = c.conparentid and p.conrelid = c.conrelid
  )
order by n.nspname, t.relname, c.conname
`

/**
 * Row estimates of every table the user can see, in one round trip: the planner's own (`reltuples`, kept by
 * ANALYZE and VACUUM) when the table has been analyzed, else the statistics collector's live-row count when
 * it has seen the table written, else unknown. A partitioned table sums its leaf partitions. Views and
 * foreign tables hold no statistics. Before PostgreSQL 14 an unanalyzed table shows 0 tuples on 0 pages,
 * which is treated as unknown too.
 */
export const ROW_ESTIMATES_SQL = `
select
  n.nspname as schema_name,
  c.relname as table_name,
  case
    when c.relkind = 'p' then (
      select sum(l.reltuples::float8) filter (where l.reltuples >= 0)
      from pg_catalog.pg_partition_tree(c.oid) pt
      join pg_catalog.pg_class l on l.oid = pt.relid
      where pt.isleaf
    )
    when c.relkind not in ('r', 'm') then null
    when c.reltuples > 0 or (c.reltuples = 0 and c.relpages > 0) then c.reltuples::float8
    when s.n_live_tup > 0 or s.n_tup_ins > 0 or s.n_tup_del > 0 then s.n_live_tup::float8
    else null
  end as rows
from pg_catalog.pg_namespace n
join pg_catalog.pg_class c
  on c.relnamespace = n.oid
  and c.relkind in ('r', 'p', 'v', 'm', 'f')
  and pg_catalog.has_any_column_privilege(c.oid, 'SELECT')
left join pg_catalog.pg_stat_all_tables s on s.relid = c.oid
where ${VISIBLE_SCHEMA('n')}
order by n.nspname, c.relname
`

export interface KeyRow {
  kind: 'p' | 'f'
  name: string
  schema_name: string
  table_name: string
  columns: string[]
  ref_schema: string | null
  ref_table: string | null
  ref_columns: string[] | null
}

export interface RowEstimateRow {
  schema_name: string
  table_name: string
  rows: number | null
}

export function keysFromRows(keyRows: readonly KeyRow[], estimateRows: readonly RowEstimateRow[]): SourceKeys {
  const keys: SourceKeys = { primaryKeys: [], foreignKeys: [], rowEstimates: [] }
  for (const row of keyRows) {
    if (row.kind === 'p') {
      keys.primaryKeys.push({ schema: row.schema_name, table: row.table_name, columns: row.columns })
    } else if (row.ref_schema !== null && row.ref_table !== null && row.ref_columns) {
      keys.foreignKeys.push({
        name: row.name,
        schema: row.schema_name,
        table: row.table_name,
        columns: row.columns,
        references: { schema: row.ref_schema, table: row.ref_table, columns: row.ref_columns },
      })
    }
  }
  for (const row of estimateRows) {
    keys.rowEstimates.push({
      schema: row.schema_name,
      table: row.table_name,
      rows: row.rows === null ? null : Math.round(Number(row.rows)),
    })
  }
  return keys
}
