package programs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/referflow/referflow/internal/crm/providers"
	"github.com/referflow/referflow/internal/program"
)

// Every program file in this folder loads and validates, and is embedded.
func TestEveryFileIsValid(t *testing.T) {
	paths, err := filepath.Glob("*")
	if err != nil {
		t.Fatal(err)
	}
	embedded := Files()
	n := 0
	for _, path := range paths {
		ext := filepath.Ext(path)
		if ext != ".yaml" && ext != ".yml" && ext != ".json" {
			continue
		}
		n++
		t.Run(path, func(t *testing.T) {
			p, err := program.LoadFile(path, program.Providers(providers.Names()...))
			if err != nil {
				t.Fatalf("%v", err)
			}
			if err := p.Validate(program.Providers(providers.Names()...)); err != nil {
				t.Fatalf("loaded program does not validate again: %v", err)
			}
			disk, _ := os.ReadFile(path)
			if ext == ".yaml" && string(embedded[path]) != string(disk) {
				t.Errorf("%s is not embedded", path)
			}
		})
	}
	if n < 2 {
		t.Fatalf("found %d program files, want at least 2", n)
	}
}

func TestDefault(t *testing.T) {
	p, err := program.Load(Default())
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "b2b-partners" || p.Currency != "USD" || !p.LaterImpliesEarlier {
		t.Fatalf("default program: id %q currency %q later_implies_earlier %v", p.ID, p.Currency, p.LaterImpliesEarlier)
	}
	q, w := p.MilestoneIndex("qualified"), p.MilestoneIndex("won")
	if q != 0 || w != 1 {
		t.Fatalf("milestones qualified=%d won=%d", q, w)
	}
	rq := p.Milestones[q].Rewards
	if len(rq) != 1 || rq[0].Party != program.PartyReferrer || rq[0].Kind != program.KindCash || rq[0].AmountMinor != 10000 || p.Milestones[q].HoldSeconds != 0 {
		t.Errorf("qualified rewards %+v hold %d", rq, p.Milestones[q].HoldSeconds)
	}
	rw := p.Milestones[w].Rewards
	if len(rw) != 2 || rw[0].AmountMinor != 50000 || rw[0].Kind != program.KindCash ||
		rw[1].Party != program.PartyReferee || rw[1].Kind != program.KindDiscount || rw[1].AmountMinor != 100000 {
		t.Errorf("won rewards %+v", rw)
	}
	if p.Milestones[w].HoldSeconds != 30*86400 {
		t.Errorf("won hold %d", p.Milestones[w].HoldSeconds)
	}
	for _, c := range []struct {
		provider, pipeline, stage, status string
		want                              program.Outcome
	}{
		{"hubspot", "default", "qualifiedtobuy", "", program.Outcome{Milestone: 0}},
		{"hubspot", "", "closedwon", "", program.Outcome{Milestone: 1}},
		{"hubspot", "default", "closedlost", "", program.Outcome{Milestone: -1, Lost: true}},
		{"salesforce", "", "Closed Won", "won", program.Outcome{Milestone: 1}},
		{"salesforce", "", "Closed Lost", "lost", program.Outcome{Milestone: -1, Lost: true}},
		{"salesforce", "", "Qualification", "open", program.Outcome{Milestone: 0}},
		{"pipedrive", "1", "4", "won", program.Outcome{Milestone: 1}},
		{"pipedrive", "1", "4", "lost", program.Outcome{Milestone: -1, Lost: true}},
		{"generic", "", "Won", "", program.Outcome{Milestone: 1}},
	} {
		if got := p.Match(c.provider, c.pipeline, c.stage, c.status); got != c.want {
			t.Errorf("Match(%q,%q,%q,%q) = %+v, want %+v", c.provider, c.pipeline, c.stage, c.status, got, c.want)
		}
	}
}
