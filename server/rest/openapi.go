package rest

import (
	"net/http"

	"github.com/vibesync/vibesync/docs"
)

// openapiYAML serves docs/openapi.yaml, the contract of every route in
// routes.go (the tests check each exchange against it).
func (a *API) openapiYAML(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	_, _ = w.Write(docs.OpenAPIYAML) // the client went away; nothing left to tell it
	return nil
}

// openapiJSON serves the same document as JSON.
func (a *API) openapiJSON(w http.ResponseWriter, r *http.Request) error {
	b, err := docs.OpenAPIJSON()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(b) // the client went away; nothing left to tell it
	return nil
}
