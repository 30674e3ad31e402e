package console

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/program"
	"github.com/referflow/referflow/internal/store"
)

// memPrograms keeps published versions in memory, as store.PublishProgram
// does: a file equal to the current version publishes nothing.
type memPrograms struct{ versions map[string][]*program.Program }

func (m *memPrograms) CurrentProgram(_ context.Context, id string) (*program.Program, error) {
	vs := m.versions[id]
	if len(vs) == 0 {
		return nil, store.ErrNotFound
	}
	return vs[len(vs)-1], nil
}

func (m *memPrograms) ProgramVersion(_ context.Context, id string, v int) (*program.Program, error) {
	if v < 1 || v > len(m.versions[id]) {
		return nil, store.ErrNotFound
	}
	return m.versions[id][v-1], nil
}

func (m *memPrograms) PublishProgram(_ context.Context, p *program.Program, _ time.Time) (int, error) {
	vs := m.versions[p.ID]
	if n := len(vs); n > 0 && vs[n-1].Fingerprint() == p.Fingerprint() {
		return n, nil
	}
	cp := *p
	cp.Version = len(vs) + 1
	m.versions[p.ID] = append(vs, &cp)
	return cp.Version, nil
}

func exampleProgram(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../programs/subscription-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestProgramUploadShowsProblemsByFieldAndPublishesNothing(t *testing.T) {
	h, ss := sectionHandler(t)
	mem := &memPrograms{versions: map[string][]*program.Program{}}
	h.Programs = mem
	good := exampleProgram(t)
	bad := strings.Replace(good, "currency:", "currency: XXX\nnot_a_field: 1\nold_currency:", 1)
	for _, action := range []string{"check", "publish"} {
		resp := post(t, h, "/console/programs", url.Values{"action": {action}, "file": {bad}})
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("%s: status %d", action, resp.StatusCode)
		}
		contains(t, resp.Body, "<code>not_a_field</code>", `aria-describedby="file-problems"`, "nothing was published", "not_a_field: 1")
	}
	if len(mem.versions) != 0 || len(ss.audit) != 0 {
		t.Fatalf("an invalid file was published or audited: %v %v", mem.versions, ss.audit)
	}
	resp := post(t, h, "/console/programs", url.Values{"action": {"publish"}, "file": {"milestones: [unclosed"}})
	contains(t, resp.Body, "The file cannot be read")
}

func TestProgramCheckThenPublishMakesTheNextVersion(t *testing.T) {
	h, ss := sectionHandler(t)
	mem := &memPrograms{versions: map[string][]*program.Program{}}
	h.Programs = mem
	good := exampleProgram(t)
	p, err := program.Load([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	check := post(t, h, "/console/programs", url.Values{"action": {"check"}, "file": {good}})
	contains(t, check.Body, "The file is valid", "program "+p.ID)
	if len(mem.versions) != 0 {
		t.Fatal("check published")
	}
	pub := post(t, h, "/console/programs", url.Values{"action": {"publish"}, "file": {good}})
	if pub.StatusCode != http.StatusSeeOther || pub.Headers["location"] != "/console/programs?program="+p.ID+"&published=1" {
		t.Fatalf("publish: %d %v", pub.StatusCode, pub.Headers)
	}
	if len(ss.audit) != 1 || ss.audit[0].Action != "program.publish" || ss.audit[0].Operator != testOperator || strings.Join(ss.audit[0].Targets, ",") != "program,"+p.ID+",version,1" {
		t.Fatalf("audit %+v", ss.audit)
	}
	again := post(t, h, "/console/programs", url.Values{"action": {"publish"}, "file": {good}})
	if !strings.Contains(again.Headers["location"], "unchanged=1") || len(ss.audit) != 1 {
		t.Errorf("the same file again: %v, %d audits", again.Headers, len(ss.audit))
	}
	changed := strings.Replace(good, "name: ", "name: Renamed ", 1)
	post(t, h, "/console/programs", url.Values{"action": {"publish"}, "file": {changed}})
	page := get(t, h, "/console/programs", map[string]string{"program": p.ID, "published": "2"})
	contains(t, page.Body, "Version 2 is published", "version 2</strong>", "<th scope=\"row\">2</th>", "<th scope=\"row\">1</th>", "new referrals")
}

func TestProgramPostNeedsTheCSRFToken(t *testing.T) {
	h, _ := sectionHandler(t)
	mem := &memPrograms{versions: map[string][]*program.Program{}}
	h.Programs = mem
	form := url.Values{"action": {"publish"}, "file": {exampleProgram(t)}}
	resp := post(t, h, "/console/programs", form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("with token: %d", resp.StatusCode)
	}
	req := anonymous("/console/programs")
	req.RequestContext.HTTP.Method = "POST"
	req.Cookies = []string{SessionCookie + "=" + testSessionID}
	req.Headers["content-type"] = "application/x-www-form-urlencoded"
	req.Body = url.Values{"action": {"publish"}, "file": {"x"}, "csrf": {"wrong"}}.Encode()
	if r, _ := h.Handle(context.Background(), req); r.StatusCode != http.StatusForbidden {
		t.Errorf("wrong token: %d", r.StatusCode)
	}
}
