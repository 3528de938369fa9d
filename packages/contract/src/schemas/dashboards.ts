import { z } from 'zod'

import { Description, Id, Name, Text, Timestamp } from './common.js'
import { Schedule } from './schedules.js'

export const WIDGET_TYPES = ['metric', 'table', 'bar', 'line', 'area', 'pie', 'scatter', 'text'] as const
export const WidgetType = z.enum(WIDGET_TYPES).meta({ id: 'WidgetType' })
export type WidgetType = z.infer<typeof WidgetType>

/** The most rows a widget of each type keeps: what it can draw, not what the query could return. */
export const WIDGET_ROW_CAPS: Record<Exclude<WidgetType, 'text'>, number> = {
  metric: 1,
  pie: 50,
  bar: 5000,
  line: 5000,
  area: 5000,
  scatter: 5000,
  table: 1000,
}

export const MAX_WIDGETS = 50

/** A result column the widget draws, as the query names it. */
const Column = z.string().min(1, 'must not be empty').max(500, 'must be at most 500 characters').pipe(Text)

export const ColumnFormat = z
  .strictObject({
    type: z.enum(['number', 'currency', 'percent', 'date']),
    decimals: z.number().int().min(0).max(10).optional().meta({ description: 'Digits after the point' }),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR')
      .optional()
      .meta({ description: 'For `currency` (default USD)' }),
    compact: z.boolean().optional().meta({ description: 'Abbreviate large numbers (1.2k, 3.4M)' }),
    prefix: z.string().max(20).pipe(Text).optional(),
    suffix: z.string().max(20).pipe(Text).optional(),
    date_style: z
      .enum(['date', 'datetime', 'month', 'quarter', 'year', 'time'])
      .optional()
      .meta({ description: 'For `date`: what part of the value to show' }),
  })
  .meta({
    id: 'ColumnFormat',
    description:
      'How a client shows a column’s values; the data itself is returned unformatted. `percent` reads 0.25 as 25 %.',
  })
export type ColumnFormat = z.infer<typeof ColumnFormat>

const Formats = z
  .record(Column, ColumnFormat)
  .optional()
  .meta({ description: 'Formats of columns by name; each must be a result column' })

const Axis = z
  .strictObject({
    label: z.string().max(200).pipe(Text).optional(),
    scale: z.enum(['linear', 'log']).optional(),
  })
  .optional()

export const MetricConfig = z
  .strictObject({
    value: Column.meta({ description: 'Numeric column shown, from the first row' }),
    label: z.string().max(200).pipe(Text).optional().meta({ description: 'Caption under the number' }),
    comparison: Column.optional().meta({
      description: 'Numeric column of the same row to compare with (last period), shown as a change',
    }),
    format: ColumnFormat.optional(),
  })
  .meta({ id: 'MetricConfig' })

export const TableConfig = z
  .strictObject({
    columns: z
      .array(Column)
      .min(1, 'must name at least one column')
      .max(100)
      .optional()
      .meta({ description: 'Columns shown, in this order; all when left out' }),
    formats: Formats,
  })
  .meta({ id: 'TableConfig' })

export const CartesianConfig = z
  .strictObject({
    x: Column.meta({ description: 'Column along the horizontal axis (categories, dates or numbers)' }),
    y: z
      .array(Column)
      .min(1, 'must name at least one column')
      .max(10, 'must name at most 10 columns')
      .meta({ description: 'Numeric columns drawn against `x`, one series each' }),
    series: Column.optional().meta({
      description: 'Column whose values split each `y` into one series per value (long format)',
    }),
    stacked: z.boolean().optional(),
    x_axis: Axis,
    y_axis: Axis,
    formats: Formats,
  })
  .meta({ id: 'CartesianConfig', description: 'Bar, line and area charts' })

export const PieConfig = z
  .strictObject({
    label: Column.meta({ description: 'Column naming each slice' }),
    value: Column.meta({ description: 'Numeric column sizing each slice' }),
    donut: z.boolean().optional(),
    format: ColumnFormat.optional(),
  })
  .meta({ id: 'PieConfig' })

export const ScatterConfig = z
  .strictObject({
    x: Column.meta({ description: 'Numeric column' }),
    y: Column.meta({ description: 'Numeric column' }),
    size: Column.optional().meta({ description: 'Numeric column sizing each point (a bubble chart)' }),
    series: Column.optional().meta({ description: 'Column colouring the points by value' }),
    x_axis: Axis,
    y_axis: Axis,
    formats: Formats,
  })
  .meta({ id: 'ScatterConfig' })

export const TextConfig = z
  .strictObject({ content: z.string().max(20_000, 'must be at most 20000 characters').pipe(Text) })
  .meta({ id: 'TextConfig', description: 'Markdown' })

export const WidgetPosition = z
  .strictObject({
    x: z.number().int().min(0).max(1000),
    y: z.number().int().min(0).max(10_000),
    w: z.number().int().min(1).max(1000),
    h: z.number().int().min(1).max(1000),
  })
  .meta({ id: 'WidgetPosition', description: 'Grid cells (columns from the left, rows from the top, width, height)' })

const WidgetParameters = z
  .record(z.string().max(100), z.unknown())
  .optional()
  .meta({ description: 'Values of the saved query’s parameters (with `query_id` only)' })

const sourceFields = {
  query_id: Id.optional().meta({ description: 'A saved query of the project' }),
  sql: z.string().min(1, 'must not be empty').max(100_000, 'must be at most 100000 characters').pipe(Text).optional(),
  question: z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(2000, 'must be at most 2000 characters')
    .pipe(Text)
    .optional()
    .meta({ description: 'Turned into SQL once, when the dashboard is saved; refreshes rerun that SQL' }),
  parameters: WidgetParameters,
}

const widgetBase = {
  id: Id.optional().meta({ description: 'Kept when given (PATCH); generated when left out' }),
  title: Name,
  position: WidgetPosition,
}

const dataWidget = <T extends Exclude<WidgetType, 'text'>, C extends z.ZodType>(type: T, config: C) =>
  z.strictObject({ ...widgetBase, type: z.literal(type), ...sourceFields, config })

export const WidgetInput = z
  .discriminatedUnion('type', [
    dataWidget('metric', MetricConfig),
    dataWidget('table', TableConfig.default({})),
    dataWidget('bar', CartesianConfig),
    dataWidget('line', CartesianConfig),
    dataWidget('area', CartesianConfig),
    dataWidget('pie', PieConfig),
    dataWidget('scatter', ScatterConfig),
    z.strictObject({ ...widgetBase, type: z.literal('text'), config: TextConfig }),
  ])
  .superRefine((widget, ctx) => {
    if (widget.type === 'text') return
    const given = (['query_id', 'sql', 'question'] as const).filter((key) => widget[key] !== undefined)
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: given.length === 0 ? ['sql'] : [given[1]!],
        message: 'give exactly one of `query_id`, `sql` and `question`',
      })
    }
    if (widget.parameters !== undefined && widget.query_id === undefined) {
      ctx.addIssue({ code: 'custom', path: ['parameters'], message: 'only a `query_id` widget takes parameters' })
    }
  })
  .meta({
    id: 'WidgetInput',
    description:
      'A `text` widget shows markdown (`config.content`); every other type draws the result of one of ' +
      '`query_id`, `sql` or `question`, whose columns `config` names.',
  })
export type WidgetInput = z.input<typeof WidgetInput>
export type WidgetInputParsed = z.output<typeof WidgetInput>

const Widgets = z
  .array(WidgetInput)
  .max(MAX_WIDGETS, `must have at most ${MAX_WIDGETS} widgets`)
  .superRefine((widgets, ctx) => {
    const seen = new Set<string>()
    widgets.forEach((widget, index) => {
      if (widget.id === undefined) return
      if (seen.has(widget.id)) ctx.addIssue({ code: 'custom', path: [index, 'id'], message: 'is used twice' })
      seen.add(widget.id)
    })
  })

export const CreateDashboard = z
  .strictObject({
    name: Name,
    description: Description.optional(),
    widgets: Widgets,
    refresh: Schedule.optional().meta({ description: 'When every widget is recomputed on its own (default none)' }),
  })
  .meta({ id: 'CreateDashboard' })
export type CreateDashboard = z.input<typeof CreateDashboard>
export type CreateDashboardParsed = z.output<typeof CreateDashboard>

export const UpdateDashboard = z
  .strictObject({
    name: Name.optional(),
    description: Description.nullable().optional(),
    widgets: Widgets.optional().meta({ description: 'The whole new list; widgets keep the ids given' }),
    refresh: Schedule.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'provide at least one field to change' })
  .meta({ id: 'UpdateDashboard' })
export type UpdateDashboard = z.input<typeof UpdateDashboard>
export type UpdateDashboardParsed = z.output<typeof UpdateDashboard>

export const WidgetError = z.object({ code: z.string(), message: z.string() }).meta({ id: 'WidgetError' })

export const WidgetData = z
  .object({
    columns: z.array(z.object({ name: z.string(), type: z.string().meta({ description: 'DuckDB type' }) })),
    rows: z.array(z.array(z.unknown())).meta({ description: 'Rows as arrays in column order, as `/sql` returns them' }),
    row_count: z.number().int(),
    truncated: z.boolean().meta({ description: 'The query returned more rows than the widget type keeps' }),
    computed_at: Timestamp,
    error: WidgetError.nullable().meta({
      description: 'Why the last computation failed (then `columns` and `rows` are empty)',
    }),
  })
  .meta({ id: 'WidgetData' })
export type WidgetData = z.infer<typeof WidgetData>

export const WidgetDataResponse = WidgetData.extend({ widget_id: Id }).meta({ id: 'WidgetDataResponse' })
export type WidgetDataResponse = z.infer<typeof WidgetDataResponse>

export const Widget = z
  .object({
    id: Id,
    type: WidgetType,
    title: z.string(),
    query_id: Id.nullable(),
    sql: z.string().nullable(),
    question: z.string().nullable(),
    resolved_sql: z.string().nullable().meta({
      description: 'The SQL a `question` was turned into when the dashboard was saved (what refreshes run)',
    }),
    parameters: z.record(z.string(), z.unknown()).nullable(),
    position: WidgetPosition,
    config: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'Widget' })
export type Widget = z.infer<typeof Widget>

const dashboardFields = {
  id: Id,
  organization_id: Id,
  project_id: Id,
  name: z.string(),
  description: z.string().nullable(),
  refresh: Schedule,
  next_refresh_at: Timestamp.nullable(),
  created_at: Timestamp,
  updated_at: Timestamp,
}

export const DashboardSummary = z
  .object({ ...dashboardFields, widget_count: z.number().int() })
  .meta({ id: 'DashboardSummary' })
export type DashboardSummary = z.infer<typeof DashboardSummary>

export const Dashboard = z
  .object({
    ...dashboardFields,
    widgets: z.array(Widget.extend({ data: WidgetData.nullable().meta({ description: 'Null for `text` widgets' }) })),
  })
  .meta({ id: 'Dashboard' })
export type Dashboard = z.infer<typeof Dashboard>

export const WidgetDataQuery = z
  .strictObject({
    refresh: z
      .enum(['true', 'false'])
      .default('false')
      .transform((value) => value === 'true')
      .meta({ description: 'Recompute now instead of reading the cached result' }),
  })
  .meta({ id: 'WidgetDataQuery' })
export type WidgetDataQuery = z.output<typeof WidgetDataQuery>
