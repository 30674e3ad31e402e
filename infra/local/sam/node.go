// Package sam reads an AWS SAM template and resolves its CloudFormation
// intrinsic functions the way a deployment to the local stack would see them.
//
// The template is parsed with gopkg.in/yaml.v3 at the yaml.Node level, so the
// short-form tags (!Ref, !Sub, !GetAtt, ...) are understood. Every node is
// turned into a plain Go value (map[string]any, []any, string, int, float64,
// bool, nil) with short tags rewritten to their long form ({"Fn::Sub": ...}),
// then resolved against parameters, pseudo parameters and resources.
package sam

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// shortTags maps a CloudFormation short-form YAML tag to its long-form key.
var shortTags = map[string]string{
	"!Ref":          "Ref",
	"!Condition":    "Condition",
	"!Sub":          "Fn::Sub",
	"!GetAtt":       "Fn::GetAtt",
	"!Join":         "Fn::Join",
	"!If":           "Fn::If",
	"!Equals":       "Fn::Equals",
	"!Not":          "Fn::Not",
	"!And":          "Fn::And",
	"!Or":           "Fn::Or",
	"!Select":       "Fn::Select",
	"!Split":        "Fn::Split",
	"!FindInMap":    "Fn::FindInMap",
	"!Base64":       "Fn::Base64",
	"!GetAZs":       "Fn::GetAZs",
	"!ImportValue":  "Fn::ImportValue",
	"!Cidr":         "Fn::Cidr",
	"!Transform":    "Fn::Transform",
	"!ToJsonString": "Fn::ToJsonString",
	"!Length":       "Fn::Length",
}

// toValue converts a yaml.Node into a plain Go value, rewriting short-form
// intrinsic tags into their long-form single-key maps.
func toValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return toValue(n.Content[0])
	case yaml.AliasNode:
		return toValue(n.Alias)
	}
	var v any
	var err error
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			var key string
			if err := n.Content[i].Decode(&key); err != nil {
				return nil, fmt.Errorf("line %d: map key: %w", n.Content[i].Line, err)
			}
			val, err := toValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[key] = val
		}
		v = m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := toValue(c)
			if err != nil {
				return nil, err
			}
			l = append(l, val)
		}
		v = l
	case yaml.ScalarNode:
		if long, ok := shortTags[n.Tag]; ok {
			// A tagged scalar is a string argument (e.g. !Ref Name).
			return map[string]any{long: n.Value}, nil
		}
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
			return nil, fmt.Errorf("line %d: unknown tag %s", n.Line, n.Tag)
		}
		err = n.Decode(&v)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	default:
		return nil, fmt.Errorf("line %d: unexpected YAML node kind %d", n.Line, n.Kind)
	}
	if long, ok := shortTags[n.Tag]; ok {
		return map[string]any{long: v}, nil
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return nil, fmt.Errorf("line %d: unknown tag %s", n.Line, n.Tag)
	}
	return v, err
}

// parseValue parses one YAML value (with short-form tags) into the plain
// form Resolve takes.
func parseValue(src string) (any, error) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	return toValue(&n)
}
