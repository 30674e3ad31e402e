package console

import (
	"net/http"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/store"
	"github.com/referflow/referflow/web/websession"
)

// Audit writes an audit entry for the signed-in operator: action and the
// ids acted on (targets in name, value pairs), at the handler's time.
// A failure is logged and returned; the action it records has happened.
func (h *Handler) Audit(r *Request, action string, targets ...string) error {
	return h.audit(r, action, "", "ok", targets...)
}

// audit writes an entry with the operator's reason and the outcome ("ok",
// or what refused the action).
func (h *Handler) audit(r *Request, action, note, outcome string, targets ...string) error {
	nonce, err := websession.Random(h.Random, 6)
	if err == nil {
		err = h.Sessions.PutAudit(r.Ctx, store.AuditEntry{At: h.Now().UTC(), Operator: r.Op.Email, Action: action,
			Targets: targets, Note: note, Outcome: outcome, Nonce: nonce})
	}
	if err != nil {
		r.Log.Error("audit entry not written", "action", action, "error", err)
	}
	return err
}

// auditRow is one line of the audit page.
type auditRow struct {
	At                     time.Time
	Operator, Action, Note string
	Outcome                string
	Targets                []target
}

type target struct{ Name, Value, Href string }

// auditPage answers GET /console/audit: the newest entries (three months
// back at most).
func (h *Handler) auditPage(r *Request) apigw.Response {
	if r.Path != "/audit" || r.Method != http.MethodGet && r.Method != http.MethodHead {
		return h.NotFound(r)
	}
	entries, err := h.Sessions.Audit(r.Ctx, h.Now(), 100, 3)
	if err != nil {
		r.Log.Error("read audit failed", "error", err)
		return h.Unavailable(r)
	}
	rows := make([]auditRow, 0, len(entries))
	for _, e := range entries {
		row := auditRow{At: e.At, Operator: e.Operator, Action: e.Action, Note: e.Note, Outcome: e.Outcome}
		for i := 0; i+1 < len(e.Targets); i += 2 {
			t := target{Name: e.Targets[i], Value: e.Targets[i+1]}
			if t.Name == "referral" {
				t.Href = "/console/referrals/" + t.Value
			}
			row.Targets = append(row.Targets, t)
		}
		rows = append(rows, row)
	}
	return h.Render(r, http.StatusOK, "audit", "Audit log", rows)
}
