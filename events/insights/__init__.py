"""The Directory Insights compatible query API (api.md section 9).

Scripts, SDKs and SIEM connectors written for the vendor's `POST /insights/directory/v1/events`
(and `/count`, `/distinct`, `/interval`) read alertsite's event log by changing the base URL.
`query` parses a body into a typed query, `search_term` compiles its filters into a `Q`,
`selectors` runs it (keyset pages, aggregates in SQL), `views` adapts HTTP.
"""
