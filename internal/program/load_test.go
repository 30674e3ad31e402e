package program

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const minimalYAML = `
schema: 1
id: demo
milestones:
  - name: won
    deadline: 30d
    stages:
      - {provider: hubspot, stage: closedwon}
    rewards:
      - {party: referrer, kind: cash, amount: 500}
`

func TestLoadMinimalAppliesDefaults(t *testing.T) {
	p, err := Load([]byte(minimalYAML))
	if err != nil {
		t.Fatal(err)
	}
	want := &Program{
		Schema:   1,
		ID:       "demo",
		Currency: "USD",
		Eligibility: Eligibility{
			ExistingCustomer: PolicyReject,
			OnICPMismatch:    PolicyReview,
		},
		Review: Review{DeadlineSeconds: 7 * 86400, Default: PolicyReject},
		Milestones: []Milestone{{
			Name:            "won",
			DeadlineSeconds: 30 * 86400,
			Stages:          []StageMatch{{Provider: "hubspot", Stage: "closedwon"}},
			Rewards:         []Reward{{Party: "referrer", Kind: "cash", Currency: "USD", AmountMinor: 50000}},
		}},
		Caps:          Caps{Period: PeriodMonth, OnExhausted: PolicyReview},
		Payout:        Payout{Method: PayoutLedger, Schedule: ScheduleAtOnce},
		RewardsOnLoss: RewardsOnLossKeep,
	}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("got  %+v\nwant %+v", p, want)
	}
}

func TestLoadJSONEqualsYAML(t *testing.T) {
	js := `{
	  "schema": 1, "id": "demo",
	  "milestones": [{"name": "won", "deadline": "30d",
	    "stages": [{"provider": "hubspot", "stage": "closedwon"}],
	    "rewards": [{"party": "referrer", "kind": "cash", "amount": 500}]}]
	}`
	pj, err := Load([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	py, err := Load([]byte(minimalYAML))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pj, py) || pj.Fingerprint() != py.Fingerprint() {
		t.Fatalf("JSON and YAML differ:\n%+v\n%+v", pj, py)
	}
}

func TestLoadExactAmounts(t *testing.T) {
	// 0.29 * 100 is 28.999999999999996 in float64: amounts must never pass through a float.
	for _, c := range []struct {
		doc  string
		want int64
	}{
		{`{"schema":1,"id":"a","milestones":[{"name":"won","deadline":60,"rewards":[{"party":"referrer","kind":"cash","amount":0.29}]}]}`, 29},
		{`{"schema":1,"id":"a","milestones":[{"name":"won","deadline":60,"rewards":[{"party":"referrer","kind":"cash","amount":"1234567.89"}]}]}`, 123456789},
		{"schema: 1\nid: a\nmilestones:\n- name: won\n  deadline: 60\n  rewards:\n  - {party: referrer, kind: cash, amount: 0.29}\n", 29},
		{"schema: 1\nid: a\ncurrency: jpy\nmilestones:\n- name: won\n  deadline: 60\n  rewards:\n  - {party: referrer, kind: cash, amount: 5000}\n", 5000},
		{"schema: 1\nid: a\nmilestones:\n- name: won\n  deadline: 60\n  rewards:\n  - {party: referrer, kind: cash, amount: 10, currency: KWD}\n", 10000},
	} {
		p, err := Load([]byte(c.doc))
		if err != nil {
			t.Fatalf("%s: %v", c.doc, err)
		}
		if got := p.Milestones[0].Rewards[0].AmountMinor; got != c.want {
			t.Errorf("%s: amount %d, want %d", c.doc, got, c.want)
		}
	}
}

// problemsOf loads doc and returns its problems as "path: message" lines.
func problemsOf(t *testing.T, doc string) []string {
	t.Helper()
	_, err := Load([]byte(doc), Providers("hubspot", "salesforce", "pipedrive", "generic"))
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error is not a *ValidationError: %v", err)
	}
	var out []string
	for _, p := range ve.Problems {
		out = append(out, p.String())
	}
	return out
}

func TestValidationProblems(t *testing.T) {
	base := func(extra string) string { return minimalYAML + extra }
	for _, c := range []struct {
		name string
		doc  string
		want []string // each must appear (as a prefix of a problem)
	}{
		{"unknown top-level field", base("colour: blue\n"), []string{"colour: unknown field"}},
		{"unknown nested field", `
schema: 1
id: demo
milestones:
  - name: won
    deadline: 30d
    rewards:
      - {party: referrer, kind: cash, amout: 500}
`, []string{"milestones[0].rewards[0].amout: unknown field", "milestones[0].rewards[0]: give amount"}},
		{"zero amount and bad provider", `
schema: 1
id: demo
milestones:
  - name: qualified
    deadline: 30d
    stages: [{provider: hubspt, stage: a}, {provider: hubspot}]
  - name: won
    deadline: 30d
    rewards:
      - {party: referrer, kind: cash, amount: 0}
`, []string{
			`milestones[0].stages[0].provider: unknown provider "hubspt" (want hubspot, salesforce, pipedrive, generic)`,
			"milestones[0].stages[1]: give stage or status",
			"milestones[1].rewards[0].amount: must be greater than 0",
		}},
		{"everything wrong at once", `
schema: 2
id: Demo_1
currency: usdx
site_origins: [http://www.example.com, https://ok.example.com/path, "http://localhost:8080", https://ok.example.com]
thank_you_url: /thanks
eligibility:
  existing_customer: maybe
  countries: [usa]
  blocked_domains: ["not a domain"]
  min_employees: 100
  max_employees: 10
review:
  default: later
milestones:
  - name: lost
    deadline: 0
  - name: Won
    deadline: soon
    hold: -1d
    rewards:
      - {party: partner, kind: cheque, amount: 5, percent: "5%"}
      - {party: referee, kind: cash, percent: "150%", floor: 10, ceiling: 5}
      - {party: referee, kind: cash, amount: 1, floor: 1}
tiers:
  - {from: 0, multiplier: 0, period: week}
  - {from: 0, multiplier: 1.5, counts_milestone: nope}
caps: {period: fortnight, on_exhausted: shrug}
payout: {method: cheques, schedule: daily}
`, []string{
			"schema: must be 1",
			`id: "Demo_1" must be`,
			"currency: unknown ISO 4217 currency code",
			`site_origins[0]: "http://www.example.com" must use https`,
			"site_origins[1]: ",
			"thank_you_url: ",
			"eligibility.existing_customer: unknown policy",
			"eligibility.countries[0]: ",
			"eligibility.blocked_domains[0]: ",
			"eligibility.min_employees: must not be above max_employees",
			"review.default: unknown value",
			`milestones[0].name: "lost" is reserved`,
			"milestones[0].deadline: must be greater than 0",
			`milestones[1].name: "Won" must be`,
			`milestones[1].deadline: "soon" is not a duration`,
			"milestones[1].hold: must not be negative",
			"milestones[1].rewards[0]: give either amount or percent, not both",
			"milestones[1].rewards[0].party: unknown party",
			"milestones[1].rewards[0].kind: unknown kind",
			"milestones[1].rewards[1].percent: must be greater than 0% and at most 100%",
			"milestones[1].rewards[1].floor: ",
			"milestones[1].rewards[2].floor: applies only to a percent reward",
			"milestones[1].rewards[2].party: the referee already has",
			"tiers[0].from: must be at least 1",
			"tiers[0].multiplier: must be greater than 0",
			"tiers[0].period: unknown period",
			"tiers[1].from: tiers must be ordered",
			"tiers[1].counts_milestone: ",
			"caps.period: unknown period",
			"caps.on_exhausted: unknown value",
			"payout.method: unknown payout method",
			"payout.schedule: unknown schedule",
		}},
		{"stage matched twice", base(`lost:
  - {provider: hubspot, stage: closedwon}
  - {provider: pipedrive, status: lost}
  - {provider: pipedrive, status: LOST}
`), []string{"lost[0]: the same stage is already matched by milestones[0].stages[0]", "lost[2]: the same stage is already matched by lost[1]"}},
		{"generic names compare without case", `
schema: 1
id: demo
milestones:
  - {name: a, deadline: 1d, stages: [{provider: generic, stage: Demo}]}
  - {name: b, deadline: 1d, stages: [{provider: generic, stage: demo}]}
`, []string{"milestones[1].stages[0]: the same stage is already matched by milestones[0].stages[0]"}},
		{"duplicate milestone", `
schema: 1
id: demo
milestones:
  - {name: won, deadline: 1d}
  - {name: won, deadline: 1d}
`, []string{`milestones[1].name: "won" is already the name of milestones[0]`}},
		{"no milestones", "schema: 1\nid: demo\n", []string{"milestones: at least one milestone is required"}},
		{"review deadline 0 while review is possible", base("review: {deadline: 0}\neligibility: {existing_customer: review}\n"),
			[]string{"review.deadline: must be greater than 0: eligibility.existing_customer is review"}},
		{"too many decimals", base("approval: {auto_below: 10.001}\n"), []string{`approval.auto_below: "10.001": USD has only 2 decimal places`}},
		{"percent without sign", `
schema: 1
id: demo
milestones:
  - name: won
    deadline: 1d
    rewards: [{party: referrer, kind: cash, percent: 10}]
`, []string{`milestones[0].rewards[0].percent: "10" needs a percent sign`}},
		{"tier multipliers decrease", base("tiers: [{from: 1, multiplier: 2}, {from: 3, multiplier: 1.5}]\n"),
			[]string{"tiers[1].multiplier: must not be below"}},
		{"first tier after rank 1 pays less than 1x", base("tiers: [{from: 3, multiplier: 0.5}]\n"),
			[]string{"tiers[0].multiplier: must be at least 1 when the first tier starts after rank 1"}},
		{"caps need program currency", `
schema: 1
id: demo
caps: {budget: 100}
milestones:
  - name: won
    deadline: 1d
    rewards: [{party: referrer, kind: cash, amount: 5, currency: EUR}]
`, []string{"milestones[0].rewards[0].currency: must be the program currency USD"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := problemsOf(t, c.doc)
			if len(got) == 0 {
				t.Fatal("no problems reported")
			}
			for _, w := range c.want {
				found := false
				for _, g := range got {
					if strings.HasPrefix(g, w) {
						found = true
					}
				}
				if !found {
					t.Errorf("missing problem %q in:\n  %s", w, strings.Join(got, "\n  "))
				}
			}
			// Each path is reported once per message: no double reports of
			// unreadable values.
			seen := map[string]bool{}
			for _, g := range got {
				if seen[g] {
					t.Errorf("reported twice: %s", g)
				}
				seen[g] = true
			}
		})
	}
}

func TestValidationErrorNamesEveryProblem(t *testing.T) {
	_, err := Load([]byte("schema: 3\nid: x\n"))
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 2 {
		t.Fatalf("want 2 problems, got %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "2 problems") || !strings.Contains(msg, "schema: must be 1") || !strings.Contains(msg, "milestones: ") {
		t.Errorf("error text: %s", msg)
	}
}

func TestLoadSyntaxErrors(t *testing.T) {
	for _, doc := range []string{"{not json", "a: [1,\n", "", "   \n", `{"schema":1} {}`, "schema: [1]\n"} {
		if _, err := Load([]byte(doc)); err == nil {
			t.Errorf("Load(%q) succeeded", doc)
		}
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(path, []byte(minimalYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("schema: 1\nid: demo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(bad)
	var ve *ValidationError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("invalid file: %v", err)
	}
}

func TestOrigins(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"https://www.example.com", true},
		{"https://www.example.com:8443", true},
		{"http://localhost:8080", true},
		{"http://127.0.0.1:3000", true},
		{"http://[::1]:3000", true},
		{"http://www.example.com", false},
		{"https://www.example.com/", false},
		{"https://www.example.com/form", false},
		{"https://user@www.example.com", false},
		{"https://www.example.com?x=1", false},
		{"www.example.com", false},
		{"ftp://example.com", false},
	} {
		if got := checkOrigin(c.in) == ""; got != c.ok {
			t.Errorf("checkOrigin(%q) ok=%v, want %v (%s)", c.in, got, c.ok, checkOrigin(c.in))
		}
	}
}

func TestSetDefaultsAndValidateInCode(t *testing.T) {
	p := &Program{Schema: 1, ID: "code", Milestones: []Milestone{{Name: "won", DeadlineSeconds: 60,
		Rewards: []Reward{{Party: PartyReferrer, Kind: KindCash, AmountMinor: 100}}}}}
	if err := p.Validate(); err == nil {
		t.Fatal("program without defaults validated")
	}
	p.SetDefaults()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.Milestones[0].Rewards[0].Currency != "USD" || p.Review.DeadlineSeconds != DefaultReviewDeadlineSeconds {
		t.Errorf("defaults: %+v", p)
	}
}

// Rules on the header, review deadline, tiers, caps and approval are each
// reported with their path: values that cannot be read first, then broken
// rules in the order of the file.
func TestValidationProblemsOutsideMilestones(t *testing.T) {
	doc := minimalYAML + `version: -1
site_origins: [https://www.example.com, https://www.example.com]
review: {deadline: -1d}
tiers:
  - {from: 1, multiplier: lots}
caps: {per_referrer: -1, budget: -1}
approval: {auto_below: -1}
`
	want := []string{
		`tiers[0].multiplier: "lots" is not a plain decimal number`,
		`version: must not be negative`,
		`site_origins[1]: "https://www.example.com" is listed twice`,
		`review.deadline: must not be negative`,
		`caps.per_referrer: must not be negative`,
		`caps.budget: must not be negative`,
		`approval.auto_below: must not be negative`,
	}
	got := problemsOf(t, doc)
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n  %s", len(got), len(want), strings.Join(got, "\n  "))
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w) {
			t.Errorf("problem %d = %q, want it to start with %q", i, got[i], w)
		}
	}
}
