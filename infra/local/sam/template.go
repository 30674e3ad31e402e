package sam

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Template is a parsed and resolved SAM template.
type Template struct {
	// Path is the template file; Dir its directory (CodeUri and
	// DefinitionUri are relative to it).
	Path, Dir string
	// Parameters holds the effective value of every template parameter.
	Parameters map[string]string

	// Functions, Tables, StateMachines, HTTPAPIs and EventBuses are the
	// typed, resolved views of the resources the local stack runs, sorted
	// by logical id.
	Functions     []Function
	Tables        []Table
	StateMachines []StateMachine
	HTTPAPIs      []HTTPAPI
	EventBuses    []EventBus

	params     map[string]any
	resources  map[string]*resource
	conditions map[string]any
	condCache  map[string]bool
	mappings   map[string]any
	globals    map[string]any
}

type resource struct {
	LogicalID  string
	Type       string
	Properties map[string]any
	Condition  string
	Metadata   map[string]any
}

// Options tune how a template is loaded.
type Options struct {
	// Parameters override parameter defaults by name.
	Parameters map[string]string
}

// Load reads and resolves the template at path.
func Load(path string, opts Options) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("template path: %w", err)
	}
	t, err := Parse(data, filepath.Dir(abs), opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t.Path = abs
	return t, nil
}

// Parse resolves a template given as YAML (or JSON) text; dir is the
// directory relative paths in it refer to.
func Parse(data []byte, dir string, opts Options) (*Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	rootV, err := toValue(&doc)
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	root, ok := rootV.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("template is not a map")
	}
	t := &Template{
		Dir:        dir,
		Parameters: map[string]string{},
		params:     map[string]any{},
		resources:  map[string]*resource{},
		conditions: asMap(root["Conditions"]),
		condCache:  map[string]bool{},
		mappings:   asMap(root["Mappings"]),
		globals:    asMap(root["Globals"]),
	}
	for name, defV := range asMap(root["Parameters"]) {
		def := asMap(defV)
		val, has := def["Default"]
		s := toString(val)
		if o, ok := opts.Parameters[name]; ok {
			s, has = o, true
		}
		if !has {
			return nil, fmt.Errorf("parameter %s has no Default and no value was given", name)
		}
		t.Parameters[name] = s
		typ := toString(def["Type"])
		if typ == "CommaDelimitedList" || strings.HasPrefix(typ, "List<") {
			var l []any
			for _, p := range strings.Split(s, ",") {
				l = append(l, strings.TrimSpace(p))
			}
			if s == "" {
				l = []any{}
			}
			t.params[name] = l
		} else {
			t.params[name] = s
		}
	}
	for id, rv := range asMap(root["Resources"]) {
		rm := asMap(rv)
		r := &resource{
			LogicalID:  id,
			Type:       toString(rm["Type"]),
			Properties: asMap(rm["Properties"]),
			Condition:  toString(rm["Condition"]),
			Metadata:   asMap(rm["Metadata"]),
		}
		if r.Properties == nil {
			r.Properties = map[string]any{}
		}
		switch r.Type {
		case "AWS::Serverless::Function":
			r.Properties = mergeGlobals(asMap(t.globals["Function"]), r.Properties)
		case "AWS::Serverless::HttpApi":
			r.Properties = mergeGlobals(asMap(t.globals["HttpApi"]), r.Properties)
		case "AWS::Serverless::SimpleTable":
			r.Properties = mergeGlobals(asMap(t.globals["SimpleTable"]), r.Properties)
		case "AWS::Serverless::StateMachine":
			r.Properties = mergeGlobals(asMap(t.globals["StateMachine"]), r.Properties)
		}
		t.resources[id] = r
	}
	// Drop resources whose Condition is false.
	for _, id := range sortedKeys(t.resources) {
		r := t.resources[id]
		if r.Condition == "" {
			continue
		}
		ok, err := t.condition(r.Condition, 0)
		if err != nil {
			return nil, fmt.Errorf("resource %s: %w", id, err)
		}
		if !ok {
			delete(t.resources, id)
		}
	}
	if err := t.buildViews(); err != nil {
		return nil, err
	}
	return t, nil
}

// ResourceProperties returns the resolved Properties of a resource (with
// Globals merged in), for anything the typed views do not cover.
func (t *Template) ResourceProperties(logicalID string) (map[string]any, error) {
	r, ok := t.resources[logicalID]
	if !ok {
		return nil, fmt.Errorf("no resource %s", logicalID)
	}
	v, err := t.Resolve(r.Properties)
	if err != nil {
		return nil, fmt.Errorf("resource %s: %w", logicalID, err)
	}
	m, _ := v.(map[string]any)
	return m, nil
}

// ResourceType returns the Type of a resource, or "" if there is none.
func (t *Template) ResourceType(logicalID string) string {
	if r, ok := t.resources[logicalID]; ok {
		return r.Type
	}
	return ""
}

// mergeGlobals merges a Globals section under a resource's properties the
// way SAM does: maps merge key-wise (the resource wins), lists concatenate
// (globals first), scalars come from the resource when it sets them.
func mergeGlobals(global, props map[string]any) map[string]any {
	if len(global) == 0 {
		return props
	}
	out := make(map[string]any, len(global)+len(props))
	for k, v := range global {
		out[k] = v
	}
	for k, v := range props {
		g, ok := out[k]
		if !ok {
			out[k] = v
			continue
		}
		out[k] = mergeValue(g, v)
	}
	return out
}

func mergeValue(g, v any) any {
	gm, gok := g.(map[string]any)
	vm, vok := v.(map[string]any)
	if gok && vok && !isIntrinsic(gm) && !isIntrinsic(vm) {
		return mergeGlobals(gm, vm)
	}
	gl, gok := g.([]any)
	vl, vok := v.([]any)
	if gok && vok {
		return append(append([]any{}, gl...), vl...)
	}
	return v
}

func isIntrinsic(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asInt(v any, def int) (int, error) {
	switch x := v.(type) {
	case nil:
		return def, nil
	case int:
		return x, nil
	case float64:
		return int(x), nil
	case string:
		n, err := strconv.Atoi(x)
		if err != nil {
			return 0, fmt.Errorf("not a number: %q", x)
		}
		return n, nil
	}
	return 0, fmt.Errorf("not a number: %v", v)
}

func asBool(v any, def bool) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		b, err := strconv.ParseBool(x)
		if err == nil {
			return b
		}
	}
	return def
}

func asStrings(v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, toString(e))
		}
		return out
	default:
		return []string{toString(x)}
	}
}
