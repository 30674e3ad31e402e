package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// memPartners is partners.Service's behaviour over a map, enough to drive
// the page: statuses move as the service moves them.
type memPartners struct {
	list  []store.Partner
	bases []string
}

func (m *memPartners) find(prog, code string) *store.Partner {
	for i := range m.list {
		if m.list[i].ProgramID == prog && m.list[i].Code == code {
			return &m.list[i]
		}
	}
	return nil
}

func (m *memPartners) List(_ context.Context, prog string, _ int, _ string) (partners.Page, error) {
	if prog != "b2b" {
		return partners.Page{}, partners.ErrNotFound
	}
	return partners.Page{Partners: m.list}, nil
}

func (m *memPartners) Invite(_ context.Context, n partners.New, base string) (*store.Partner, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	m.bases = append(m.bases, base)
	m.list = append(m.list, store.Partner{Referrer: referral.Referrer{ProgramID: n.ProgramID, Code: "DRAWN1", Email: n.Email, Status: referral.ReferrerInvited}})
	return &m.list[len(m.list)-1], nil
}

func (m *memPartners) move(prog, code string, from, to referral.ReferrerStatus) (*store.Partner, error) {
	p := m.find(prog, code)
	if p == nil {
		return nil, partners.ErrNotFound
	}
	if from != "" && p.State() != from {
		return nil, partners.ErrState
	}
	p.Status = to
	return p, nil
}

func (m *memPartners) Approve(_ context.Context, prog, code, base string) (*store.Partner, error) {
	m.bases = append(m.bases, base)
	return m.move(prog, code, referral.ReferrerPending, referral.ReferrerActive)
}
func (m *memPartners) Disable(_ context.Context, prog, code string) (*store.Partner, error) {
	return m.move(prog, code, "", referral.ReferrerDisabled)
}
func (m *memPartners) Enable(_ context.Context, prog, code string) (*store.Partner, error) {
	return m.move(prog, code, referral.ReferrerDisabled, referral.ReferrerActive)
}
func (m *memPartners) ChangeCode(_ context.Context, prog, from, to string) (*store.Partner, error) {
	if to == "ACME" {
		return nil, partners.ErrCodeTaken
	}
	p := m.find(prog, from)
	if p == nil {
		return nil, partners.ErrNotFound
	}
	p.Code = to
	return p, nil
}

func newPartners() *memPartners {
	return &memPartners{list: []store.Partner{
		{Referrer: referral.Referrer{ProgramID: "b2b", Code: "ACME", Email: "a@acme.test", Name: "Ann <Acme>", Status: referral.ReferrerActive}},
		{Referrer: referral.Referrer{ProgramID: "b2b", Code: "BETA", Email: "b@beta.test", Status: referral.ReferrerPending}},
	}}
}

func TestPartnersPageListsPartnersWithTheirFiguresAndActions(t *testing.T) {
	h, _ := sectionHandler(t)
	h.Partners, h.KPIs = newPartners(), &fakeKPIs{}
	resp := get(t, h, "/console/partners", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	contains(t, resp.Body, "Ann &lt;Acme&gt;", `<td class="num">40</td><td class="num">7</td><td class="num">3</td>`, `aria-label="Approve BETA"`,
		`aria-label="Disable ACME"`, "March 2026", `label for="to-ACME"`)
	if strings.Contains(resp.Body, `aria-label="Approve ACME"`) {
		t.Error("an active partner offers approval")
	}
	if get(t, h, "/console/partners", map[string]string{"program": "nope"}).StatusCode != http.StatusNotFound {
		t.Error("unknown program not 404")
	}
}

func TestPartnerActionsGoThroughTheServiceAndAreAudited(t *testing.T) {
	tests := []struct {
		form     url.Values
		status   int
		location string
		audit    string
		problem  string
	}{
		{url.Values{"op": {"approve"}, "code": {"BETA"}}, http.StatusSeeOther, "/console/partners?did=approved&program=b2b", "partner.approve", ""},
		{url.Values{"op": {"disable"}, "code": {"ACME"}}, http.StatusSeeOther, "/console/partners?did=disabled&program=b2b", "partner.disable", ""},
		{url.Values{"op": {"enable"}, "code": {"ACME"}}, http.StatusConflict, "", "", "status does not allow that"},
		{url.Values{"op": {"change-code"}, "code": {"BETA"}, "to": {"ACME"}}, http.StatusConflict, "", "", "That code is taken"},
		{url.Values{"op": {"change-code"}, "code": {"BETA"}, "to": {"BETA2"}}, http.StatusSeeOther, "/console/partners?did=code&program=b2b", "partner.change-code", ""},
		{url.Values{"op": {"approve"}, "code": {"GHOST"}}, http.StatusConflict, "", "", "No such partner"},
		{url.Values{"op": {"delete"}, "code": {"ACME"}}, http.StatusBadRequest, "", "", ""},
	}
	for _, tt := range tests {
		h, ss := sectionHandler(t)
		mem := newPartners()
		h.Partners = mem
		tt.form.Set("program", "b2b")
		resp := post(t, h, "/console/partners/action", tt.form)
		if resp.StatusCode != tt.status || resp.Headers["location"] != tt.location {
			t.Errorf("%v: %d %v", tt.form, resp.StatusCode, resp.Headers)
		}
		if tt.problem != "" {
			contains(t, resp.Body, tt.problem)
		}
		if (tt.audit == "") != (len(ss.audit) == 0) || (tt.audit != "" && ss.audit[0].Action != tt.audit) {
			t.Errorf("%v: audit %+v", tt.form, ss.audit)
		}
	}
}

func TestInviteShowsProblemsNextToTheFields(t *testing.T) {
	h, ss := sectionHandler(t)
	mem := newPartners()
	h.Partners = mem
	resp := post(t, h, "/console/partners/invite", url.Values{"program": {"b2b"}, "email": {"not-an-email"}, "name": {"Zed"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || len(mem.list) != 2 || len(ss.audit) != 0 {
		t.Fatalf("bad invite: %d, %d partners, %d audits", resp.StatusCode, len(mem.list), len(ss.audit))
	}
	contains(t, resp.Body, `id="inv-email-error"`, `aria-describedby="inv-email-error"`, `value="Zed"`)
	ok := post(t, h, "/console/partners/invite", url.Values{"program": {"b2b"}, "email": {"new@partner.test"}, "name": {"New Partner"}})
	if ok.StatusCode != http.StatusSeeOther || len(mem.list) != 3 || mem.bases[0] != "https://console.test" || len(ss.audit) != 1 || ss.audit[0].Action != "partner.invite" {
		t.Fatalf("invite: %d %v %v %+v", ok.StatusCode, ok.Headers, mem.bases, ss.audit)
	}
}
