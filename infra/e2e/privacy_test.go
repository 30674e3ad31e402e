package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/referflow/referflow/infra/local/stack"
	"github.com/referflow/referflow/internal/privacy"
)

// localKeys hashes keys with the local stack's key-hash secret, so the
// tests' store finds what the functions wrote.
var localKeys = func() privacy.Source {
	h, err := privacy.NewHasher(stack.LocalKeyHashSecret)
	if err != nil {
		panic(err)
	}
	return privacy.Fixed(h)
}()

// A person asks to be forgotten: the admin route erases their personal
// data from their referral (the referral, its status and its workflow
// stay), answers how many referrals it erased, and erases nothing more when
// repeated. The person can then be referred again.
func TestErasePersonOverTheAdminAPI(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	name, email := company(t)
	a := e.refer(email, name)
	e.waitWaiting(a.ReferralID, "qualified")

	status, body := e.admin(http.MethodPost, "/admin/people/erase", adminToken, map[string]string{"email": strings.ToUpper(email)})
	if status != http.StatusOK || body["erased"] != float64(1) {
		t.Fatalf("erase = %d %v, want 200 {erased: 1}", status, body)
	}
	v := e.adminView(a.ReferralID)
	if v.Status != "in_progress" {
		t.Fatalf("the erased referral is %s, want in_progress", v.Status)
	}
	r, err := e.st.Referral(context.Background(), a.ReferralID)
	if err != nil || r.RefereeEmail != "" || r.RefereeCompany != "" {
		t.Fatalf("referral after erasure = %+v, %v", r, err)
	}
	if ids, err := e.st.ReferralsByEmail(context.Background(), email); err != nil || len(ids) != 0 {
		t.Fatalf("ReferralsByEmail after erasure = %v, %v", ids, err)
	}
	if status, body := e.admin(http.MethodPost, "/admin/people/erase", adminToken, map[string]string{"email": email}); status != http.StatusOK || body["erased"] != float64(0) {
		t.Fatalf("repeated erase = %d %v, want 200 {erased: 0}", status, body)
	}
	if status, _ := e.admin(http.MethodPost, "/admin/people/erase", adminToken, map[string]string{"email": "nope"}); status != http.StatusBadRequest {
		t.Fatalf("erase of a non-email = %d, want 400", status)
	}
	again := e.refer(email, name)
	if again.ReferralID == a.ReferralID {
		t.Fatal("the forgotten person was not referred anew")
	}
	e.assertNoPersonalData(a.ReferralID, email, name)
}
