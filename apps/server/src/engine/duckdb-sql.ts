/** DuckDB identifiers: always quoted, so names with capitals, spaces or dots mean exactly themselves. */
export const quoteIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`

/** DuckDB string literals: standard SQL, quotes doubled; DuckDB has no backslash escapes in ''. */
export const quoteLiteral = (value: string): string => `'${value.replaceAll("'", "''")}'`
