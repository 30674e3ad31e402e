package eventbus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Pattern is a compiled event pattern, in the language EventBridge rules
// and Lambda event filters share: a JSON object whose fields name fields
// of the event; an object value matches a nested object, an array value
// lists what the event's value may be. A value matches when it equals one
// of the listed values (strings, numbers, booleans, null) or satisfies one
// of the listed operators: {"prefix"}, {"suffix"}, {"equals-ignore-case"},
// {"wildcard"}, {"anything-but"} (a value, a list, or {"prefix"} /
// {"suffix"}), {"exists"} and {"numeric"}. An array in the event matches
// when any of its elements does. Every field of the pattern must match.
// Compile refuses what it does not implement ($or, cidr), so a rule is
// never silently widened.
type Pattern struct {
	fields map[string]*field
	keys   []string
}

// field is one field of a pattern: nested (an object) or a leaf (a list).
type field struct {
	nested *Pattern
	leaf   []matcher
}

// matcher tests one value of the event; present is false when the event
// has no such field (only {"exists": false} and anything-but match then).
type matcher func(v any, present bool) bool

// Compile parses a pattern given as JSON text.
func Compile(text string) (*Pattern, error) {
	d := json.NewDecoder(strings.NewReader(text))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("eventbus: pattern is not a JSON object: %w", err)
	}
	return compileObject(m, "")
}

func compileObject(m map[string]any, at string) (*Pattern, error) {
	p := &Pattern{fields: map[string]*field{}}
	for k, v := range m {
		where := strings.TrimPrefix(at+"."+k, ".")
		if strings.HasPrefix(k, "$") {
			return nil, fmt.Errorf("eventbus: pattern %s: %s is not supported locally", where, k)
		}
		switch x := v.(type) {
		case map[string]any:
			sub, err := compileObject(x, where)
			if err != nil {
				return nil, err
			}
			p.fields[k] = &field{nested: sub}
		case []any:
			if len(x) == 0 {
				return nil, fmt.Errorf("eventbus: pattern %s: an empty list matches nothing", where)
			}
			f := &field{}
			for _, e := range x {
				mt, err := compileValue(e, where)
				if err != nil {
					return nil, err
				}
				f.leaf = append(f.leaf, mt)
			}
			p.fields[k] = f
		default:
			return nil, fmt.Errorf("eventbus: pattern %s: want an object or a list, got %v", where, v)
		}
		p.keys = append(p.keys, k)
	}
	sort.Strings(p.keys)
	return p, nil
}

// compileValue compiles one entry of a leaf list.
func compileValue(v any, where string) (matcher, error) {
	op, ok := v.(map[string]any)
	if !ok {
		return func(ev any, present bool) bool { return present && equal(ev, v) }, nil
	}
	if len(op) != 1 {
		return nil, fmt.Errorf("eventbus: pattern %s: an operator object has exactly one key", where)
	}
	for name, arg := range op {
		return compileOperator(name, arg, where)
	}
	return nil, nil
}

func compileOperator(name string, arg any, where string) (matcher, error) {
	s, isString := arg.(string)
	str := func(test func(string) bool) (matcher, error) {
		if !isString {
			return nil, fmt.Errorf("eventbus: pattern %s: %s wants a string", where, name)
		}
		return func(ev any, present bool) bool {
			x, ok := ev.(string)
			return present && ok && test(x)
		}, nil
	}
	switch name {
	case "prefix":
		return str(func(x string) bool { return strings.HasPrefix(x, s) })
	case "suffix":
		return str(func(x string) bool { return strings.HasSuffix(x, s) })
	case "equals-ignore-case":
		return str(func(x string) bool { return strings.EqualFold(x, s) })
	case "wildcard":
		return str(func(x string) bool { return wildcard(s, x) })
	case "exists":
		want, ok := arg.(bool)
		if !ok {
			return nil, fmt.Errorf("eventbus: pattern %s: exists wants true or false", where)
		}
		return func(_ any, present bool) bool { return present == want }, nil
	case "anything-but":
		return anythingBut(arg, where)
	case "numeric":
		return numeric(arg, where)
	}
	return nil, fmt.Errorf("eventbus: pattern %s: operator %q is not supported locally", where, name)
}

// anythingBut matches a present value that none of the excluded values or
// the excluded prefix/suffix matches.
func anythingBut(arg any, where string) (matcher, error) {
	var inner []matcher
	switch x := arg.(type) {
	case []any:
		for _, e := range x {
			m, err := compileValue(e, where)
			if err != nil {
				return nil, err
			}
			inner = append(inner, m)
		}
	default:
		m, err := compileValue(x, where)
		if err != nil {
			return nil, err
		}
		inner = append(inner, m)
	}
	return func(ev any, present bool) bool {
		if !present {
			return false
		}
		for _, m := range inner {
			if m(ev, true) {
				return false
			}
		}
		return true
	}, nil
}

// numeric compiles ["<", 10, ">=", 2]-style comparisons, all of which must hold.
func numeric(arg any, where string) (matcher, error) {
	l, ok := arg.([]any)
	if !ok || len(l) == 0 || len(l)%2 != 0 {
		return nil, fmt.Errorf("eventbus: pattern %s: numeric wants [op, number, ...]", where)
	}
	type cmp struct {
		op string
		n  float64
	}
	var cmps []cmp
	for i := 0; i < len(l); i += 2 {
		op, _ := l[i].(string)
		n, ok := number(l[i+1])
		if !ok || !strings.Contains("< <= = > >=", op) || op == "" {
			return nil, fmt.Errorf("eventbus: pattern %s: numeric wants [op, number, ...]", where)
		}
		cmps = append(cmps, cmp{op, n})
	}
	return func(ev any, present bool) bool {
		x, ok := number(ev)
		if !present || !ok {
			return false
		}
		for _, c := range cmps {
			hold := map[string]bool{"<": x < c.n, "<=": x <= c.n, "=": x == c.n, ">": x > c.n, ">=": x >= c.n}[c.op]
			if !hold {
				return false
			}
		}
		return true
	}, nil
}

// wildcard matches s against a pattern where * stands for any run of
// characters (EventBridge's wildcard; no other special character).
func wildcard(pat, s string) bool {
	parts := strings.Split(pat, "*")
	if len(parts) == 1 {
		return pat == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	}
	return 0, false
}

// equal compares an event value with a pattern value: numbers by value,
// everything else exactly.
func equal(ev, want any) bool {
	if a, ok := number(ev); ok {
		b, ok := number(want)
		return ok && a == b
	}
	switch w := want.(type) {
	case string:
		s, ok := ev.(string)
		return ok && s == w
	case bool:
		b, ok := ev.(bool)
		return ok && b == w
	case nil:
		return ev == nil
	}
	return false
}

// Match reports whether an event (JSON text) matches the pattern.
func (p *Pattern) Match(event []byte) bool {
	d := json.NewDecoder(bytes.NewReader(event))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return false
	}
	return p.MatchValue(v)
}

// MatchValue is Match for an event already decoded (numbers as float64 or
// json.Number).
func (p *Pattern) MatchValue(event any) bool {
	obj, _ := event.(map[string]any)
	for _, k := range p.keys {
		v, present := obj[k]
		if !p.fields[k].match(v, present) {
			return false
		}
	}
	return true
}

func (f *field) match(v any, present bool) bool {
	if f.nested != nil {
		if l, ok := v.([]any); ok {
			for _, e := range l {
				if f.nested.MatchValue(e) {
					return true
				}
			}
			return false
		}
		return f.nested.MatchValue(v)
	}
	if l, ok := v.([]any); ok && present {
		for _, e := range l {
			if f.any(e, true) {
				return true
			}
		}
		return false
	}
	return f.any(v, present)
}

func (f *field) any(v any, present bool) bool {
	for _, m := range f.leaf {
		if m(v, present) {
			return true
		}
	}
	return false
}
