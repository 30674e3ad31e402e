package e2e

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/infra/local/moto"
	"github.com/referflow/referflow/infra/local/sam"
	"github.com/referflow/referflow/infra/local/stack"
	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/kpis"
	"github.com/referflow/referflow/internal/store"
)

// benchPartners is how many partners refer in the benchmark's month, at
// every size: a KPI read costs one item per day, per active partner and
// per cohort month, so the partners are held fixed to show that the
// number of referrals changes nothing.
const benchPartners = 200

// BenchmarkKPIRead measures what reading a month's KPIs costs at 1,000 and
// 100,000 referrals' worth of counters: the counters a month of referrals
// makes (each referral's events planned by kpis.Plan, summed as the
// counters' writer sums them) are written to a table on moto, then b.N
// reads of the month (store.KPICounters, then kpis.Build) report the items
// and bytes read (DynamoDB's item size: attribute names plus values), the
// queries made and the time. Both sizes read the same number of items.
//
//	go test -run '^$' -bench KPIRead -benchtime 20x ./infra/e2e
func BenchmarkKPIRead(b *testing.B) {
	db, table := benchTable(b)
	for i, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("referrals=%d", n), func(b *testing.B) {
			program := "bench-" + strconv.Itoa(i)
			written := writeMonthOfCounters(b, db, table, program, n)
			meter := &readMeter{DynamoDB: db}
			st := store.New(meter, table)
			from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
			per := kpis.Period{Kind: kpis.PeriodMonth, From: from, To: from.AddDate(0, 1, -1)}
			prog := kpis.Program{ID: program, Currency: "USD", Milestones: []string{"qualified", "won"}}
			b.ResetTimer()
			for range b.N {
				items, err := st.KPICounters(context.Background(), program, per.From, per.To)
				if err != nil {
					b.Fatal(err)
				}
				if r := kpis.Build(prog, per, items); r.Referrals.Received != int64(n) {
					b.Fatalf("report counts %d referrals, want %d", r.Referrals.Received, n)
				}
			}
			b.StopTimer()
			ops := float64(b.N)
			b.ReportMetric(float64(meter.items.Load())/ops, "items/op")
			b.ReportMetric(float64(meter.bytes.Load())/ops, "bytes/op")
			b.ReportMetric(float64(meter.queries.Load())/ops, "queries/op")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/ops, "ms/op")
			b.Logf("%d referrals: %d counter items written; a month's KPIs read %.0f items (%.0f bytes) in %.0f queries, %.1f ms",
				n, written, float64(meter.items.Load())/ops, float64(meter.bytes.Load())/ops,
				float64(meter.queries.Load())/ops, float64(b.Elapsed().Microseconds())/1000/ops)
		})
	}
}

// benchTable starts moto for the benchmark and creates the template's table.
func benchTable(b *testing.B) (*dynamodb.Client, string) {
	b.Helper()
	tpl, err := sam.Load("../../template.yaml", sam.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ports := make([]int, 2)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	srv, err := moto.Start(context.Background(), moto.Options{Port: ports[0], LambdaPort: ports[1]})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Stop)
	db := dynamodb.NewFromConfig(stack.AWSConfig(srv.URL))
	for _, t := range tpl.Tables {
		if t.LogicalID == "Table" {
			t.Name = "bench-kpis"
			if _, err := stack.CreateTables(context.Background(), db, []sam.Table{t}); err != nil {
				b.Fatal(err)
			}
			return db, t.Name
		}
	}
	b.Fatal("template.yaml has no Table")
	return nil, ""
}

// writeMonthOfCounters plans the events of n referrals received in
// November 2026 (spread over its days and benchPartners partners: 80%
// accepted, half of those qualified, a fifth won with a 12,000.00 deal and
// 500.00 paid, a tenth lost, the others rejected), sums the counters and
// writes them; it returns how many counter items that is.
func writeMonthOfCounters(b *testing.B, db *dynamodb.Client, table, program string, n int) int {
	b.Helper()
	sum := map[string]map[string]int64{}
	add := func(changes []kpis.Change) {
		for _, c := range changes {
			if sum[c.SK] == nil {
				sum[c.SK] = map[string]int64{}
			}
			for k, v := range c.Add {
				sum[c.SK][k] += v
			}
		}
	}
	for i := range n {
		received := time.Date(2026, 11, 1+i%28, 9, 0, 0, 0, time.UTC)
		f := kpis.Facts{ProgramID: program, ReferrerCode: fmt.Sprintf("P%03d", i%benchPartners), ReceivedAt: received,
			Last: "won", Currency: "USD", Milestones: map[string]time.Time{}}
		switch {
		case i%5 == 4:
			f.Rejected, f.Reasons = true, []string{"free_mail_domain"}
		default:
			f.Accepted = true
			if i%2 == 0 {
				f.Milestones["qualified"] = received.Add(time.Duration(i%9) * 24 * time.Hour)
			}
			if i%10 == 0 {
				f.Milestones["won"] = received.Add(time.Duration(i%40) * 24 * time.Hour)
				f.DealMinor = 1200000
			}
			if i%10 == 1 {
				f.Ended, f.EndedAt = kpis.Lost, received.Add(48*time.Hour)
			}
		}
		at := received.Add(time.Hour)
		changes, state := kpis.Plan(events.New(events.ReferralClosed, "ref", "workflow", at), f, kpis.State{})
		add(changes)
		if state.Customer {
			paid := events.New(events.RewardPaid, "ref", "workflow", at).With("amount_minor", "50000").With("currency", "USD")
			changes, _ = kpis.Plan(paid, kpis.Facts{ProgramID: program}, kpis.State{})
			add(changes)
		}
	}
	var batch []types.WriteRequest
	flush := func() {
		for len(batch) > 0 {
			out, err := db.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: batch}})
			if err != nil {
				b.Fatal(err)
			}
			batch = out.UnprocessedItems[table]
		}
	}
	for sk, counters := range sum {
		item := map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: kpis.PK(program)}, "SK": &types.AttributeValueMemberS{Value: sk}}
		for k, v := range counters {
			item[k] = &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
		}
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		if len(batch) == 25 {
			flush()
		}
	}
	flush()
	return len(sum)
}

// readMeter counts the Queries made through it, the items they return and
// their size.
type readMeter struct {
	store.DynamoDB
	queries, items, bytes atomic.Int64
}

func (m *readMeter) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := m.DynamoDB.Query(ctx, in, opts...)
	if err != nil {
		return nil, err
	}
	m.queries.Add(1)
	m.items.Add(int64(len(out.Items)))
	for _, it := range out.Items {
		for k, v := range it {
			m.bytes.Add(int64(len(k)) + attrSize(v))
		}
	}
	return out, nil
}

// attrSize is DynamoDB's size of a string or number value (a number: about
// one byte per two digits, plus one).
func attrSize(v types.AttributeValue) int64 {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return int64(len(v.Value))
	case *types.AttributeValueMemberN:
		return int64((len(v.Value)+1)/2 + 1)
	}
	return 0
}
