package template

import "testing"

// CRM events about deals not linked to a referral yet are parked by the
// webhook and applied by it or by the wait step (internal/crm parked.go):
// both find them by the keyed hash of an email, link, apply and remove them.
func TestParkedEventsPermissions(t *testing.T) {
	tp := load(t)
	for fn, actions := range map[string][]string{
		"WebhookFunction": {"dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "ssm:GetParameter"},
		"AwaitFunction":   {"dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:TransactWriteItems", "ssm:GetParameter"},
	} {
		for _, a := range actions {
			if !allows(tp.resources[fn], a) {
				t.Errorf("%s cannot handle parked CRM events: %s not allowed", fn, a)
			}
		}
	}
}
