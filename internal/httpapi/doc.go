// Package httpapi holds the HTTP conventions NSQ's daemons share: the "V1"
// response format (JSON or text bodies, {"message":"CODE"} errors and the
// X-NSQ-Content-Type header go-nsq looks for), a router with NSQ's 404, 405
// and panic replies, query-parameter helpers, and an outbound client that
// speaks V1 to other daemons.
package httpapi
