package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/store"
)

// Edit and Partner complete memPartners (partners_test.go) as the
// service does: an email of another partner is refused.
func (m *memPartners) Edit(_ context.Context, prog, code string, c partners.Changes) (*store.Partner, error) {
	p := m.find(prog, code)
	if p == nil {
		return nil, partners.ErrNotFound
	}
	if c.Email != nil && !strings.Contains(*c.Email, "@") {
		return nil, &partners.Invalid{Fields: map[string]string{"email": "is not an email address"}}
	}
	for _, o := range m.list {
		if c.Email != nil && o.Code != code && o.Email == *c.Email {
			return nil, partners.ErrExists
		}
	}
	p.Name, p.Email, p.Company = *c.Name, *c.Email, *c.Company
	return p, nil
}

func (m *memPartners) Partner(_ context.Context, prog, code string) (*store.Partner, error) {
	if p := m.find(prog, code); p != nil {
		return p, nil
	}
	return nil, partners.ErrNotFound
}

func TestOperatorEditsAPartner(t *testing.T) {
	h, ss := sectionHandler(t)
	mem := newPartners()
	h.Partners = mem
	list := get(t, h, "/console/partners", nil)
	contains(t, list.Body, `href="/console/partners/edit?program=b2b&amp;code=ACME"`, "no longer credit the partner")
	form := get(t, h, "/console/partners/edit", map[string]string{"program": "b2b", "code": "ACME"})
	if form.StatusCode != http.StatusOK {
		t.Fatalf("form: %d", form.StatusCode)
	}
	contains(t, form.Body, `value="Ann &lt;Acme&gt;"`, `value="a@acme.test"`, `label for="pe-company"`)
	resp := post(t, h, "/console/partners/edit", url.Values{"program": {"b2b"}, "code": {"ACME"}, "name": {"Ann Lee"}, "email": {"ann@acme.test"}, "company": {"Acme"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Headers["location"] != "/console/partners?did=edited&program=b2b" {
		t.Fatalf("save: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	if p := mem.find("b2b", "ACME"); p.Name != "Ann Lee" || p.Email != "ann@acme.test" || p.Company != "Acme" {
		t.Fatalf("saved %+v", p)
	}
	if len(ss.audit) != 1 || ss.audit[0].Action != "partner.edit" || strings.Join(ss.audit[0].Targets, ",") != "program,b2b,partner,ACME" {
		t.Fatalf("audit %+v", ss.audit)
	}
	contains(t, get(t, h, "/console/partners", map[string]string{"did": "edited"}).Body, "details are saved.")
}

func TestPartnerEditShowsProblemsAndChangesNothing(t *testing.T) {
	h, ss := sectionHandler(t)
	mem := newPartners()
	h.Partners = mem
	for _, c := range []struct {
		email  string
		status int
		want   string
	}{
		{"nope", http.StatusUnprocessableEntity, `id="pe-email-error"`},
		{"b@beta.test", http.StatusUnprocessableEntity, "already another partner"},
	} {
		resp := post(t, h, "/console/partners/edit", url.Values{"program": {"b2b"}, "code": {"ACME"}, "name": {"X"}, "email": {c.email}, "company": {""}})
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d", c.email, resp.StatusCode)
		}
		contains(t, resp.Body, c.want, `value="X"`)
	}
	if p := mem.find("b2b", "ACME"); p.Name != "Ann <Acme>" || len(ss.audit) != 0 {
		t.Fatalf("a refused edit changed %+v or was audited %+v", p, ss.audit)
	}
	if resp := get(t, h, "/console/partners/edit", map[string]string{"program": "b2b", "code": "GHOST"}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown partner: %d", resp.StatusCode)
	}
}
