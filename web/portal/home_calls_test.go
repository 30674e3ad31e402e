package portal_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/rewards"
	"github.com/referflow/referflow/internal/store"
)

// counted is the table, counting the calls made to it.
type counted struct {
	*dynamodb.Client
	n atomic.Int64
}

func (c *counted) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.n.Add(1)
	return c.Client.GetItem(ctx, in, opts...)
}

func (c *counted) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.n.Add(1)
	return c.Client.Query(ctx, in, opts...)
}

func (c *counted) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.n.Add(1)
	return c.Client.BatchGetItem(ctx, in, opts...)
}

func (c *counted) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.n.Add(1)
	return c.Client.PutItem(ctx, in, opts...)
}

func (c *counted) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.n.Add(1)
	return c.Client.UpdateItem(ctx, in, opts...)
}

func (c *counted) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.n.Add(1)
	return c.Client.DeleteItem(ctx, in, opts...)
}

func (c *counted) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.n.Add(1)
	return c.Client.TransactWriteItems(ctx, in, opts...)
}

// homeWith signs Ann in with n referrals, each with an approved 10.00 USD
// referrer reward, and returns her page and the table calls it took.
func homeWith(t *testing.T, n int) (string, int64) {
	t.Helper()
	w := newWorld(t)
	for i := 0; i < n; i++ {
		id := w.refer(fmt.Sprint("r", i), "ANN42", fmt.Sprintf("Company %02d", i), fmt.Sprintf("buyer%d@co%d.example", i, i), t0.Add(-time.Duration(n-i)*time.Minute))
		w.reward(id, "ANN42", "qualified", 1000, rewards.StatusApproved)
	}
	ann := w.browser()
	ann.signIn(annEmail)
	db := &counted{Client: storetest.DB(t)}
	w.h.Store = store.New(db, w.st.Table()).WithKeys(storetest.Keys)
	home := ann.get("/portal")
	mustStatus(t, home, 200)
	return home.body, db.n.Load()
}

// The partner's page reads the table the same number of times whatever
// the number of their referrals, and its balance counts every referral,
// also those beyond the first page.
func TestPartnerPageReadsTheSameWhateverItsReferrals(t *testing.T) {
	_, few := homeWith(t, 2)
	page, many := homeWith(t, 25)
	if few != many || many > 12 {
		t.Fatalf("table calls: %d with 2 referrals, %d with 25; want the same, at most 12", few, many)
	}
	if !strings.Contains(page, "<dt>Earned, to be paid</dt><dd>250.00 USD</dd>") {
		t.Errorf("the balance does not count all 25 referrals:\n%s", page)
	}
	if got := strings.Count(page, "Qualified (Cash): 10.00 USD, Approved"); got != 20 {
		t.Errorf("%d rows show their reward, want the 20 of the first page", got)
	}
	if !strings.Contains(page, "Company 24") || strings.Contains(page, "Company 04") {
		t.Error("the first page is not the 20 newest referrals")
	}
}

// A paid reward clawed back after a refund counts as paid and as
// reversed; a voided one counts nowhere.
func TestBalanceShowsAReversalFromTheRewardAlone(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := w.refer("a", "ANN42", "Acme", "jane@acme.example", t0.Add(-48*time.Hour))
	b := w.refer("b", "ANN42", "Globex", "hank@globex.example", t0.Add(-24*time.Hour))
	w.reward(a, "ANN42", "won", 30000, rewards.StatusApproved)
	w.reward(b, "ANN42", "won", 5000, rewards.StatusOnHold)
	rws, err := w.st.MilestoneRewards(ctx, a, "won")
	if err != nil || len(rws) != 1 {
		t.Fatal(rws, err)
	}
	paid, later := rws[0], t0.Add(time.Hour)
	if ok, err := w.st.PayReward(ctx, paid, rewards.PayableEntry(paid, t0), rewards.Event(events.RewardPaid, paid, "test", t0), t0, rewards.DealOpen); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, err := w.st.ReverseReward(ctx, paid, rewards.ReversalEntry(paid, later), rewards.Event(events.RewardReversed, paid, "test", later)); !ok || err != nil {
		t.Fatal(ok, err)
	}
	held, _ := w.st.MilestoneRewards(ctx, b, "won")
	if ok, err := w.st.SetRewardStatus(ctx, held[0], []rewards.Status{rewards.StatusOnHold}, rewards.StatusVoided, "deal lost",
		rewards.Event(events.RewardVoided, held[0], "test", t0), t0); !ok || err != nil {
		t.Fatal(ok, err)
	}
	ann := w.browser()
	ann.signIn(annEmail)
	home := ann.get("/portal").body
	for _, want := range []string{
		"<dt>Earned, to be paid</dt><dd>0.00 USD</dd>", "<dt>On hold</dt><dd>0.00 USD</dd>",
		"<dt>Paid</dt><dd>300.00 USD</dd>", "<dt>Reversed</dt><dd>300.00 USD</dd>",
		"Won (Cash): 300.00 USD, Paid", "Won (Cash): 50.00 USD, Cancelled",
	} {
		if !strings.Contains(home, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(home)
	}
}
