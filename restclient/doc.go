// Package restclient is a Go client of the vibesync REST API, generated
// by oapi-codegen from docs/openapi.yaml (make generate); it shows that a
// consumer can generate a working client from the document, and its test
// calls the real server with it.
package restclient

//go:generate sh -c "cd .. && go tool oapi-codegen -config restclient/oapi-codegen.yaml docs/openapi.yaml"
