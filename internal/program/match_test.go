package program

import (
	"reflect"
	"testing"
)

func matchProgram(t *testing.T) *Program {
	t.Helper()
	p, err := Load([]byte(`
schema: 1
id: match
milestones:
  - name: qualified
    deadline: 90d
    stages:
      - {provider: hubspot, pipeline: default, stage: qualifiedtobuy}
      - {provider: hubspot, pipeline: "777", stage: "1001"}
      - {provider: pipedrive, stage: "3"}
      - {provider: salesforce, stage: Qualification}
  - name: won
    deadline: 365d
    stages:
      - {provider: hubspot, pipeline: default, stage: closedwon}
      - {provider: salesforce, stage: Closed Won}
      - {provider: salesforce, status: won}
      - {provider: pipedrive, status: won}
      - {provider: generic, stage: Signed}
lost:
  - {provider: hubspot, stage: closedlost}
  - {provider: salesforce, status: lost}
  - {provider: pipedrive, status: lost}
`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMatch(t *testing.T) {
	p := matchProgram(t)
	none := Outcome{Milestone: -1}
	lost := Outcome{Milestone: -1, Lost: true}
	for _, c := range []struct {
		name                              string
		provider, pipeline, stage, status string
		want                              Outcome
	}{
		{"hubspot stage in pipeline", "hubspot", "default", "qualifiedtobuy", "", Outcome{Milestone: 0}},
		{"hubspot event without pipeline", "hubspot", "", "closedwon", "", Outcome{Milestone: 1}},
		{"hubspot other pipeline", "hubspot", "999", "closedwon", "", none},
		{"hubspot custom pipeline id", "hubspot", "777", "1001", "", Outcome{Milestone: 0}},
		{"hubspot ids are exact", "hubspot", "default", "ClosedWon", "", none},
		{"hubspot lost, any pipeline", "hubspot", "777", "closedlost", "", lost},
		{"provider is case-insensitive", "HubSpot", "default", "closedwon", "", Outcome{Milestone: 1}},
		{"salesforce stage name", "salesforce", "", "Qualification", "open", Outcome{Milestone: 0}},
		{"salesforce won by status alone", "salesforce", "", "Signed Contract", "won", Outcome{Milestone: 1}},
		{"salesforce lost by status", "salesforce", "", "Closed Lost", "lost", lost},
		{"salesforce status is case-insensitive", "salesforce", "", "", "WON", Outcome{Milestone: 1}},
		{"pipedrive stage id", "pipedrive", "1", "3", "open", Outcome{Milestone: 0}},
		{"pipedrive status beats stage", "pipedrive", "1", "3", "lost", lost},
		{"pipedrive won", "pipedrive", "1", "5", "won", Outcome{Milestone: 1}},
		{"pipedrive unknown stage", "pipedrive", "1", "9", "open", none},
		{"generic listed stage, any case", "generic", "", "signed", "", Outcome{Milestone: 1}},
		{"generic milestone name", "generic", "", "Qualified", "", Outcome{Milestone: 0}},
		{"generic lost", "generic", "", "LOST", "", lost},
		{"generic unknown", "generic", "", "demo_booked", "", none},
		{"milestone names are not implicit for hubspot", "hubspot", "", "qualified", "", none},
		{"unknown provider", "zoho", "", "closedwon", "", none},
		{"empty", "", "", "", "", none},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := p.Match(c.provider, c.pipeline, c.stage, c.status)
			if got != c.want {
				t.Fatalf("Match(%q, %q, %q, %q) = %+v, want %+v", c.provider, c.pipeline, c.stage, c.status, got, c.want)
			}
			if got.None() != (got == none) {
				t.Errorf("None() = %v for %+v", got.None(), got)
			}
		})
	}
}

func TestMilestoneIndexAndImplied(t *testing.T) {
	p := matchProgram(t)
	if p.MilestoneIndex("qualified") != 0 || p.MilestoneIndex("won") != 1 || p.MilestoneIndex("lost") != -1 || p.MilestoneIndex("") != -1 {
		t.Error("MilestoneIndex")
	}
	p.Milestones = append(p.Milestones, Milestone{Name: "renewed", DeadlineSeconds: 1})
	for _, c := range []struct {
		later bool
		index int
		want  []int
	}{
		{false, 0, []int{0}},
		{false, 2, []int{2}},
		{true, 0, []int{0}},
		{true, 2, []int{0, 1, 2}},
		{true, 3, nil},
		{true, -1, nil},
	} {
		p.LaterImpliesEarlier = c.later
		if got := p.Implied(c.index); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Implied(%d) later=%v = %v, want %v", c.index, c.later, got, c.want)
		}
	}
}

func TestFingerprint(t *testing.T) {
	a := matchProgram(t)
	b := matchProgram(t)
	fa := a.Fingerprint()
	if len(fa) != 64 || fa != b.Fingerprint() {
		t.Fatalf("fingerprints differ: %s %s", fa, b.Fingerprint())
	}
	b.Version = 7
	b.Tiers = []Tier{}
	b.Eligibility.Countries = []string{}
	if b.Fingerprint() != fa {
		t.Error("version or empty lists change the fingerprint")
	}
	b.Milestones[1].Stages[0].Stage = "closedwon2"
	if b.Fingerprint() == fa {
		t.Error("a changed stage keeps the fingerprint")
	}
	if a.Milestones[1].Stages[0].Stage != "closedwon" {
		t.Error("programs share stages")
	}
	c := matchProgram(t)
	c.Milestones[0].Rewards = []Reward{}
	if c.Fingerprint() != fa {
		t.Error("empty rewards list changes the fingerprint")
	}
	if c.Milestones[0].Rewards == nil {
		t.Error("Fingerprint changed the program")
	}
}
