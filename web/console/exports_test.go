package console

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/exports"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

// memExports keeps exports in memory with the store's rules (a chunk is
// saved only by the request that saw the export's last chunk) and serves
// referrals received on two days.
type memExports struct {
	jobs   map[string]exports.Job
	chunks map[string][]string
	evs    map[string][]events.Event // by day
	refs   map[string]*referral.Referral
}

func newMemExports(n int) *memExports {
	m := &memExports{jobs: map[string]exports.Job{}, chunks: map[string][]string{}, evs: map[string][]events.Event{}, refs: map[string]*referral.Referral{}}
	for i := range n {
		at := sectionNow.Add(-time.Duration(i%2) * 24 * time.Hour)
		id := fmt.Sprintf("ref_%026d", i)
		company := fmt.Sprintf("Company %d", i)
		if i == 0 {
			company = "=HYPERLINK(\"http://evil.example\")"
		}
		m.refs[id] = &referral.Referral{ID: id, ProgramID: "b2b", ProgramVersion: 1, Status: referral.StatusInProgress, ReferrerCode: "ACME",
			RefereeEmail: "secret@example.com", RefereeName: "Secret Name", RefereeCompany: company, CreatedAt: at, UpdatedAt: at}
		ev := events.New(events.ReferralReceived, id, events.ActorIntake, at)
		ev.ProgramID = "b2b"
		m.evs[at.Format(time.DateOnly)] = append(m.evs[at.Format(time.DateOnly)], ev)
	}
	return m
}

func (m *memExports) EventsOn(_ context.Context, day string, t events.Type, limit int, cursor string) ([]events.Event, string, error) {
	all := m.evs[day]
	from := 0
	fmt.Sscan(cursor, &from)
	to := min(from+limit, len(all))
	var out []events.Event
	for _, ev := range all[from:to] {
		if ev.Type == t {
			out = append(out, ev)
		}
	}
	if to == len(all) {
		return out, "", nil
	}
	return out, fmt.Sprint(to), nil
}

func (m *memExports) LedgerPage(context.Context, string, int, string) ([]rewards.Entry, string, error) {
	return nil, "", nil
}

func (m *memExports) ReferralsByID(_ context.Context, ids []string) (map[string]*referral.Referral, error) {
	out := map[string]*referral.Referral{}
	for _, id := range ids {
		out[id] = m.refs[id]
	}
	return out, nil
}

func (m *memExports) Reward(context.Context, string, string, string) (*rewards.Reward, error) {
	return nil, store.ErrNotFound
}

func (m *memExports) CreateExport(_ context.Context, j exports.Job) error {
	m.jobs[j.ID] = j
	return nil
}

func (m *memExports) Export(_ context.Context, id string, now time.Time) (*exports.Job, error) {
	j, ok := m.jobs[id]
	if !ok || j.ExpiresAt.Before(now) {
		return nil, store.ErrNotFound
	}
	return &j, nil
}

func (m *memExports) SaveExportChunk(_ context.Context, j exports.Job, chunks int, csv []byte, _ int) error {
	if m.jobs[j.ID].Chunks != chunks {
		return store.ErrConflict
	}
	if j.Chunks > chunks {
		m.chunks[j.ID] = append(m.chunks[j.ID], string(csv))
	}
	m.jobs[j.ID] = j
	return nil
}

func (m *memExports) ExportChunks(_ context.Context, id string, first, last int, out []byte) ([]byte, error) {
	for i := first; i <= last && i <= len(m.chunks[id]); i++ {
		out = append(out, m.chunks[id][i-1]...)
	}
	return out, nil
}

var refreshTag = regexp.MustCompile(`<meta http-equiv="refresh" content="2">`)

func TestExportRunsInChunksAndOffersTheCSV(t *testing.T) {
	h, ss := sectionHandler(t)
	mem := newMemExports(7)
	h.Exports = mem
	saved := exports.DefaultBudget
	exports.DefaultBudget = exports.Budget{Pages: 1, Items: 2, Bytes: 1 << 20}
	t.Cleanup(func() { exports.DefaultBudget = saved })

	form := get(t, h, "/console/exports", nil)
	contains(t, form.Body, `label for="ex-kind"`, `<option value="ledger">`, `value="2026-03-01"`, `value="2026-03-18"`)
	start := post(t, h, "/console/exports", url.Values{"kind": {"referrals"}, "from": {"2026-03-17"}, "to": {"2026-03-18"}})
	loc := start.Headers["location"]
	if start.StatusCode != 303 || !strings.HasPrefix(loc, "/console/exports/exp_") || len(ss.audit) != 1 || ss.audit[0].Action != "export.start" {
		t.Fatalf("start: %d %v %+v", start.StatusCode, start.Headers, ss.audit)
	}
	var page string
	for i := 0; ; i++ {
		page = get(t, h, loc, nil).Body
		if !refreshTag.MatchString(page) {
			break
		}
		contains(t, page, "row(s) so far", `<progress id="ex-progress" max="100"`, "Stop reloading")
		if i > 10 {
			t.Fatal("the export never ends")
		}
	}
	id := strings.TrimPrefix(loc, "/console/exports/")
	if j := mem.jobs[id]; !j.Done || j.Rows != 7 || j.Chunks < 3 {
		t.Fatalf("job %+v: want 7 rows in several chunks", j)
	}
	contains(t, page, "The export is ready: 7 row(s).", `href="/console/exports/`+id+`/download?part=1"`)
	dl := get(t, h, loc+"/download", map[string]string{"part": "1"})
	if dl.StatusCode != 200 || dl.Headers["content-type"] != "text/csv; charset=utf-8" ||
		dl.Headers["content-disposition"] != `attachment; filename="referrals-2026-03-17-to-2026-03-18.csv"` {
		t.Fatalf("download: %d %v", dl.StatusCode, dl.Headers)
	}
	rows, err := csv.NewReader(strings.NewReader(dl.Body)).ReadAll()
	if err != nil || len(rows) != 8 || strings.Join(rows[0], ",") != strings.Join(exports.ReferralHeader, ",") {
		t.Fatalf("csv (%v):\n%s", err, dl.Body)
	}
	var ids []string
	for _, r := range rows[1:] {
		ids = append(ids, r[0])
		if r[6] == "=HYPERLINK(\"http://evil.example\")" {
			t.Error("a formula reached the CSV unquoted")
		}
	}
	sort.Strings(ids)
	if len(ids) != 7 || ids[0] != fmt.Sprintf("ref_%026d", 0) || strings.Contains(dl.Body, "secret") || strings.Contains(dl.Body, "Secret") {
		t.Fatalf("exported %v, or personal data:\n%s", ids, dl.Body)
	}
	if last := ss.audit[len(ss.audit)-1]; last.Action != "export.download" {
		t.Fatalf("the download is not audited: %+v", last)
	}
}

func TestExportRefusesABadPeriodAndUnknownExports(t *testing.T) {
	h, ss := sectionHandler(t)
	mem := newMemExports(1)
	h.Exports = mem
	for _, form := range []url.Values{
		{"kind": {"referrals"}, "from": {"2026-03-18"}, "to": {"2026-03-01"}},
		{"kind": {"people"}, "from": {"2026-03-01"}, "to": {"2026-03-02"}},
		{"kind": {"ledger"}, "from": {"March"}, "to": {"2026-03-02"}},
	} {
		resp := post(t, h, "/console/exports", form)
		if resp.StatusCode != 400 || !strings.Contains(resp.Body, `role="alert"`) {
			t.Errorf("%v: %d", form, resp.StatusCode)
		}
	}
	if len(mem.jobs) != 0 || len(ss.audit) != 0 {
		t.Fatalf("a refused export left %d jobs, %d audits", len(mem.jobs), len(ss.audit))
	}
	if resp := get(t, h, "/console/exports/exp_AAAAAAAAAAAAAAAA", nil); resp.StatusCode != 404 {
		t.Fatalf("unknown export: %d", resp.StatusCode)
	}
	j, _ := exports.New("exp_BBBBBBBBBBBBBBBB", "referrals", "", "2026-03-18", "2026-03-18", "console:x", sectionNow)
	mem.jobs[j.ID] = j
	if resp := get(t, h, "/console/exports/"+j.ID+"/download", nil); resp.StatusCode != 404 {
		t.Fatalf("a running export downloaded: %d", resp.StatusCode)
	}
	paused := get(t, h, "/console/exports/"+j.ID, map[string]string{"refresh": "off"})
	if refreshTag.MatchString(paused.Body) || mem.jobs[j.ID].StepsDone != 0 || !strings.Contains(paused.Body, "Go on") {
		t.Fatalf("a paused export ran or reloads")
	}
}
