// Starts CAP's OData server with two additions for the Syncline tests:
// - it listens on ODATA_HOST (127.0.0.1 unless set), never on every interface;
// - it counts requests (GET /_stats, POST /_stats/reset) so a test can tell how many
//   reads and writes a sync sent. The OData service itself is CAP's, unchanged.
const cds = require('@sap/cds')

const stats = { requests: 0, byMethod: {}, batches: 0, writes: 0 }
function reset() {
  stats.requests = 0
  stats.byMethod = {}
  stats.batches = 0
  stats.writes = 0
}

cds.on('bootstrap', (app) => {
  const listen = app.listen.bind(app)
  app.listen = (port, ...rest) => listen(port, process.env.ODATA_HOST || '127.0.0.1', ...rest)
  app.get('/_stats', (req, res) => res.json(stats))
  app.post('/_stats/reset', (req, res) => {
    reset()
    res.status(204).end()
  })
  app.use('/odata', (req, res, next) => {
    stats.requests += 1
    stats.byMethod[req.method] = (stats.byMethod[req.method] || 0) + 1
    if (req.path.startsWith('/$batch')) stats.batches += 1
    else if (req.method !== 'GET') stats.writes += 1
    next()
  })
})

module.exports = cds.server
