// CAP custom authentication for the test server.
//
// Accepts `Authorization: Bearer <t>` when t equals ODATA_STATIC_TOKEN, or, when
// ODATA_INTROSPECTION_URL is set, when RFC 7662 token introspection at that URL (as
// client ODATA_INTROSPECTION_CLIENT_ID / _SECRET) says the token is active. Everything
// else is 401. With neither variable set every request is anonymous and allowed.
const cds = require('@sap/cds')

const staticToken = process.env.ODATA_STATIC_TOKEN || ''
const introspectionUrl = process.env.ODATA_INTROSPECTION_URL || ''
const clientId = process.env.ODATA_INTROSPECTION_CLIENT_ID || ''
const clientSecret = process.env.ODATA_INTROSPECTION_CLIENT_SECRET || ''

async function introspect(token) {
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')
  const response = await fetch(introspectionUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
    body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
  })
  if (!response.ok) return null
  const body = await response.json()
  return body && body.active === true ? body : null
}

function refuse(res) {
  res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: { code: '401', message: 'Unauthorized' } })
}

module.exports = async function auth(req, res, next) {
  if (!staticToken && !introspectionUrl) {
    req.user = new cds.User.Privileged('anonymous')
    return next()
  }
  const header = req.headers.authorization || ''
  const match = /^Bearer\s+(.+)$/i.exec(header)
  if (!match) return refuse(res)
  const token = match[1].trim()
  if (staticToken && token === staticToken) {
    req.user = new cds.User.Privileged('static-token')
    return next()
  }
  if (introspectionUrl) {
    try {
      const info = await introspect(token)
      if (info) {
        req.user = new cds.User.Privileged(info.client_id || info.sub || 'oauth2-client')
        return next()
      }
    } catch (err) {
      return res.status(503).json({ error: { code: '503', message: 'introspection failed' } })
    }
  }
  return refuse(res)
}
