package servertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemas compiles the JSON Schemas of the document's bodies once each and
// keeps them: kin-openapi's VisitJSON builds and compiles a fresh JSON
// Schema 2020-12 validator for every value it checks, which made the
// contract check most of the cost of an exchange in the tests.
//
// The document is OpenAPI 3.1, whose Schema Objects are JSON Schema
// 2020-12: the component schemas become one resource, under $defs, that
// every body schema refers to. Formats are asserted with kin-openapi's own
// format validators, as its JSON Schema 2020-12 path does.
type schemas struct {
	mu       sync.Mutex
	compiler *jsonschema.Compiler
	compiled map[*openapi3.SchemaRef]compiled
}

type compiled struct {
	schema *jsonschema.Schema
	err    error
}

const (
	componentsURL = "https://contract.vibesync.test/components.json"
	componentsRef = "#/components/schemas/"
)

func newSchemas(doc *openapi3.T) (*schemas, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	defs := map[string]any{}
	if doc.Components != nil {
		for name, ref := range doc.Components.Schemas {
			v, err := schemaJSON(ref, "#/$defs/")
			if err != nil {
				return nil, fmt.Errorf("schema %s: %w", name, err)
			}
			defs[name] = v
		}
	}
	if err := c.AddResource(componentsURL, map[string]any{"$defs": defs}); err != nil {
		return nil, err
	}
	formats := map[string]bool{}
	collectFormats(defs, formats)
	for _, path := range doc.Paths.Map() {
		for _, op := range path.Operations() {
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for _, mt := range op.RequestBody.Value.Content {
					collectSchemaFormats(mt.Schema, formats)
				}
			}
			for _, res := range op.Responses.Map() {
				if res.Value != nil {
					for _, mt := range res.Value.Content {
						collectSchemaFormats(mt.Schema, formats)
					}
				}
			}
		}
	}
	for name := range formats {
		c.RegisterFormat(&jsonschema.Format{Name: name, Validate: formatValidator(name)})
	}
	if len(formats) > 0 {
		c.AssertFormat()
	}
	return &schemas{compiler: c, compiled: map[*openapi3.SchemaRef]compiled{}}, nil
}

// of is ref's compiled schema, compiled on first use.
func (s *schemas) of(ref *openapi3.SchemaRef) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.compiled[ref]; ok {
		return c.schema, c.err
	}
	var c compiled
	if strings.HasPrefix(ref.Ref, componentsRef) {
		c.schema, c.err = s.compiler.Compile(componentsURL + "#/$defs/" + strings.TrimPrefix(ref.Ref, componentsRef))
	} else {
		url := fmt.Sprintf("https://contract.vibesync.test/inline/%d.json", len(s.compiled))
		v, err := schemaJSON(ref, componentsURL+"#/$defs/")
		if err == nil {
			err = s.compiler.AddResource(url, v)
		}
		if err == nil {
			c.schema, err = s.compiler.Compile(url)
		}
		c.err = err
	}
	s.compiled[ref] = c
	return c.schema, c.err
}

// validate checks the JSON document data against ref.
func (s *schemas) validate(ref *openapi3.SchemaRef, data []byte) error {
	schema, err := s.of(ref)
	if err != nil {
		return fmt.Errorf("compile the document's schema: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var value any
	if err := dec.Decode(&value); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return schema.Validate(value)
}

// schemaJSON is ref as a JSON Schema document, its references to the
// document's component schemas rewritten to start with defs.
func schemaJSON(ref *openapi3.SchemaRef, defs string) (any, error) {
	data, err := json.Marshal(ref)
	if err != nil {
		return nil, err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	rewriteRefs(v, defs)
	return v, nil
}

func rewriteRefs(node any, defs string) {
	switch node := node.(type) {
	case map[string]any:
		if r, ok := node["$ref"].(string); ok && strings.HasPrefix(r, componentsRef) {
			node["$ref"] = defs + strings.TrimPrefix(r, componentsRef)
		}
		for _, v := range node {
			rewriteRefs(v, defs)
		}
	case []any:
		for _, v := range node {
			rewriteRefs(v, defs)
		}
	}
}

func collectSchemaFormats(ref *openapi3.SchemaRef, formats map[string]bool) {
	if ref == nil || ref.Ref != "" {
		return // component schemas are collected from the components
	}
	if v, err := schemaJSON(ref, "#/$defs/"); err == nil {
		collectFormats(v, formats)
	}
}

func collectFormats(node any, formats map[string]bool) {
	switch node := node.(type) {
	case map[string]any:
		if f, ok := node["format"].(string); ok && f != "" {
			formats[f] = true
		}
		for _, v := range node {
			collectFormats(v, formats)
		}
	case []any:
		for _, v := range node {
			collectFormats(v, formats)
		}
	}
}

// formatValidator checks a value of format name with kin-openapi's format
// validators (openapi3.SchemaStringFormats and the number and integer
// ones); a format it does not know accepts every value.
func formatValidator(name string) func(any) error {
	return func(value any) error {
		switch v := value.(type) {
		case string:
			if f, ok := openapi3.SchemaStringFormats[name]; ok {
				return f.Validate(v)
			}
		case json.Number:
			n, err := v.Float64()
			if err != nil {
				return nil
			}
			if n == math.Trunc(n) && !math.IsInf(n, 0) {
				if f, ok := openapi3.SchemaIntegerFormats[name]; ok {
					return f.Validate(int64(n))
				}
			}
			if f, ok := openapi3.SchemaNumberFormats[name]; ok {
				return f.Validate(n)
			}
		}
		return nil
	}
}
