import { readFile } from 'node:fs/promises'
import path from 'node:path'

import { Hono } from 'hono'
import { getAbsoluteFSPath } from 'swagger-ui-dist'

// Served from the installed package, so the docs work on a machine with no internet access.
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
}

const page = (specUrl: string) => `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Tributary API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <link rel="icon" href="/docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="docs"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: ${JSON.stringify(specUrl)},
      dom_id: '#docs',
      deepLinking: true,
      persistAuthorization: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: 'StandaloneLayout',
    })
  </script>
</body>
</html>`

/** Interactive API docs at `/docs`, over the OpenAPI document at `specUrl`. */
export function docsRoutes(specUrl: string) {
  const assetDir = getAbsoluteFSPath()
  const cache = new Map<string, Buffer>()
  return new Hono()
    .get('/', (c) => c.html(page(specUrl)))
    .get('/assets/:file', async (c) => {
      const file = c.req.param('file')
      const contentType = ASSETS[file]
      if (!contentType) return c.notFound()
      let body = cache.get(file)
      if (!body) {
        body = await readFile(path.join(assetDir, file))
        cache.set(file, body)
      }
      return c.body(new Uint8Array(body), 200, {
        'Content-Type': contentType,
        'Cache-Control': 'public, max-age=86400',
      })
    })
}
