package workflows

import (
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// state is the subset of an ASL state the checks read.
type state struct {
	Type               string                     `json:"Type"`
	Resource           string                     `json:"Resource"`
	Next               string                     `json:"Next"`
	End                bool                       `json:"End"`
	Default            string                     `json:"Default"`
	Choices            []struct{ Next string }    `json:"Choices"`
	Catch              []catcher                  `json:"Catch"`
	Retry              []retrier                  `json:"Retry"`
	TimeoutSeconds     *int                       `json:"TimeoutSeconds"`
	TimeoutSecondsPath string                     `json:"TimeoutSecondsPath"`
	HeartbeatSeconds   *int                       `json:"HeartbeatSeconds"`
	Parameters         map[string]json.RawMessage `json:"Parameters"`
	ItemProcessor      *machine                   `json:"ItemProcessor"`
	Iterator           *machine                   `json:"Iterator"`
	Error              string                     `json:"Error"`
	CausePath          string                     `json:"CausePath"`
	ResultSelector     map[string]json.RawMessage `json:"ResultSelector"`
	ResultPath         *string                    `json:"ResultPath"`
}

type catcher struct {
	ErrorEquals []string `json:"ErrorEquals"`
	Next        string   `json:"Next"`
	ResultPath  string   `json:"ResultPath"`
}

type retrier struct {
	ErrorEquals     []string `json:"ErrorEquals"`
	MaxAttempts     *int     `json:"MaxAttempts"` // nil: the default, 3
	IntervalSeconds int      `json:"IntervalSeconds"`
	BackoffRate     float64  `json:"BackoffRate"`
	MaxDelaySeconds int      `json:"MaxDelaySeconds"`
	JitterStrategy  string   `json:"JitterStrategy"`
}

// attempts is the retrier's MaxAttempts (3 when absent).
func (r retrier) attempts() int {
	if r.MaxAttempts == nil {
		return 3
	}
	return *r.MaxAttempts
}

type machine struct {
	StartAt string           `json:"StartAt"`
	States  map[string]state `json:"States"`
}

func load(t *testing.T) machine {
	t.Helper()
	var m machine
	if err := json.Unmarshal(Referral, &m); err != nil {
		t.Fatalf("referral.asl.json is not valid JSON: %v", err)
	}
	return m
}

// walk visits every state, nested Map processors included, with its path.
func walk(m machine, prefix string, visit func(path string, s state, m machine)) {
	for name, s := range m.States {
		visit(prefix+name, s, m)
		for _, sub := range []*machine{s.ItemProcessor, s.Iterator} {
			if sub != nil {
				walk(*sub, prefix+name+" / ", visit)
			}
		}
	}
}

// recommended are the Lambda errors AWS recommends retrying on every
// Lambda task.
var recommended = []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"}

func TestEveryLambdaTaskHasTheRecommendedRetrier(t *testing.T) {
	n := 0
	walk(load(t), "", func(path string, s state, _ machine) {
		if s.Type != "Task" || !strings.HasPrefix(s.Resource, "arn:aws:states:::lambda:invoke") {
			return
		}
		n++
		ok := false
		for _, r := range s.Retry {
			got := map[string]bool{}
			for _, e := range r.ErrorEquals {
				got[e] = true
			}
			all := r.attempts() > 0
			for _, e := range recommended {
				all = all && got[e]
			}
			ok = ok || all
		}
		if !ok {
			t.Errorf("%s: no Retry covering %v", path, recommended)
		}
	})
	if n < 6 {
		t.Fatalf("found %d Lambda tasks; the definition lost some", n)
	}
}

func TestEveryCallbackTaskHasATimeout(t *testing.T) {
	n := 0
	walk(load(t), "", func(path string, s state, _ machine) {
		if !strings.HasSuffix(s.Resource, ".waitForTaskToken") {
			return
		}
		n++
		if s.TimeoutSeconds == nil && s.TimeoutSecondsPath == "" {
			t.Errorf("%s: a callback task without TimeoutSeconds(Path) can wait a year", path)
		}
		caught := false
		for _, c := range s.Catch {
			for _, e := range c.ErrorEquals {
				caught = caught || e == "States.Timeout"
			}
		}
		if !caught {
			t.Errorf("%s: States.Timeout is not caught on the task itself", path)
		}
		if !strings.Contains(string(s.Parameters["Payload"]), "$$.Task.Token") {
			t.Errorf("%s: the payload does not pass $$.Task.Token", path)
		}
	})
	if n != 2 {
		t.Fatalf("found %d callback tasks, want 2 (milestone wait and manual review)", n)
	}
}

func TestTransitionsPointAtExistingStates(t *testing.T) {
	var check func(m machine, prefix string)
	check = func(m machine, prefix string) {
		if _, ok := m.States[m.StartAt]; !ok {
			t.Errorf("%sStartAt %q does not exist", prefix, m.StartAt)
		}
		for name, s := range m.States {
			targets := []string{s.Next, s.Default}
			for _, c := range s.Choices {
				targets = append(targets, c.Next)
			}
			for _, c := range s.Catch {
				targets = append(targets, c.Next)
			}
			for _, tg := range targets {
				if tg == "" {
					continue
				}
				if _, ok := m.States[tg]; !ok {
					t.Errorf("%s%s: transition to missing state %q", prefix, name, tg)
				}
			}
			terminal := s.Type == "Succeed" || s.Type == "Fail" || s.Type == "Choice"
			if !terminal && s.Next == "" && !s.End {
				t.Errorf("%s%s: neither Next nor End", prefix, name)
			}
			for _, sub := range []*machine{s.ItemProcessor, s.Iterator} {
				if sub != nil {
					check(*sub, prefix+name+" / ")
				}
			}
		}
	}
	check(load(t), "")
}

// Catching a States.* error on a Map fails the execution in moto and is
// avoided on AWS too: inner tasks re-raise custom Referral.* names.
func TestMapCatchesOnlyCustomErrors(t *testing.T) {
	walk(load(t), "", func(path string, s state, _ machine) {
		if s.Type != "Map" {
			return
		}
		for _, c := range s.Catch {
			for _, e := range c.ErrorEquals {
				if strings.HasPrefix(e, "States.") {
					t.Errorf("%s: Map catches %s; catch it on the inner task and raise a Referral.* error", path, e)
				}
			}
		}
	})
}

// The execution history is readable by anyone with console access: task
// payloads may carry ids, names of milestones and tokens, never a person.
func TestPayloadsCarryIdsOnly(t *testing.T) {
	// "error" is what a Catch caught ({Error, Cause}), passed to "Mark
	// needs attention": the history holds it already (the failed task's
	// event), and the step shortens it and keeps no email (ShortCause).
	allowed := map[string]bool{"referral_id": true, "milestone": true, "task_token": true, "kind": true, "step": true, "outcome": true,
		"deadline_seconds": true, "hold_seconds": true, "execution_started_at": true, "execution": true, "FunctionName": true, "Payload": true,
		"error": true}
	walk(load(t), "", func(path string, s state, _ machine) {
		raw, ok := s.Parameters["Payload"]
		if !ok {
			return
		}
		var payload map[string]any
		if err := json.Unmarshal(raw, &payload); err != nil {
			t.Fatalf("%s: payload: %v", path, err)
		}
		for k := range payload {
			if !allowed[strings.TrimSuffix(k, ".$")] {
				t.Errorf("%s: payload field %q is not an id", path, k)
			}
		}
	})
}

var placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// Every ${Name} in the definition has a DefinitionSubstitutions entry in
// template.yaml, and every substitution is used.
func TestEverySubstitutionIsInTheTemplate(t *testing.T) {
	raw, err := os.ReadFile("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	subs := map[string]bool{}
	uri := ""
	find(&doc, func(k string, v *yaml.Node) {
		switch k {
		case "DefinitionSubstitutions":
			for i := 0; i+1 < len(v.Content); i += 2 {
				subs[v.Content[i].Value] = true
			}
		case "DefinitionUri":
			uri = v.Value
		}
	})
	if uri != "workflows/referral.asl.json" {
		t.Fatalf("template DefinitionUri = %q", uri)
	}
	used := map[string]bool{}
	for _, m := range placeholder.FindAllStringSubmatch(string(Referral), -1) {
		used[m[1]] = true
		if !subs[m[1]] {
			t.Errorf("${%s} has no DefinitionSubstitutions entry", m[1])
		}
	}
	var unused []string
	for k := range subs {
		if !used[k] {
			unused = append(unused, k)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("substitutions not used by the definition: %v", unused)
	}
}

func find(n *yaml.Node, visit func(key string, v *yaml.Node)) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			visit(n.Content[i].Value, n.Content[i+1])
		}
	}
	for _, c := range n.Content {
		find(c, visit)
	}
}
