// Package docs embeds openapi.yaml, the OpenAPI 3.1 document of the REST
// API, for the server to serve and the tests to check every exchange
// against.
package docs

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"go.yaml.in/yaml/v4"
)

// OpenAPIYAML is docs/openapi.yaml as written.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

// OperationsMD is docs/OPERATIONS.md as written: its metrics table is the
// operator's list of figures, which the bench checks all move.
//
//go:embed OPERATIONS.md
var OperationsMD []byte

// OpenAPIJSON returns the same document as JSON.
var OpenAPIJSON = sync.OnceValues(func() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(OpenAPIYAML, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return json.MarshalIndent(doc, "", "  ")
})
